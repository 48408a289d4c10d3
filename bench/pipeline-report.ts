/**
 * What bench pipeline writes: the throughput table (fractions of the Java producer, the paired
 * runs with their range), the pairs themselves, the encodings table and the chart.
 */
import { join } from 'node:path';
import { writeLineChart } from '../lib/chart.js';
import type { TensorEncoding } from '../lib/core/tensors.js';
import type { KafkaClientName } from '../lib/kafka/sender.js';
import { machine, median, RESULTS_DIR, table, writeResult } from './common.js';
import { pairedRatios, pairOrder } from './statistics.js';
import { KAFKA_TOOLS_VERSION } from './transport/kafka-tools.js';
import type { PathResult } from './transport/update-path.js';

export interface PipelineSettings {
  /** Worker processes publishing on the update path. */
  readonly publishers: number;
  /** Pairs of (update path, Java producer) runs per record size. */
  readonly pairs: number;
}

export interface SizeRow {
  readonly size: string;
  readonly bytes: number;
  readonly records: number;
  /** Tributary's update path with the workers sending through kafkajs, and through librdkafka. */
  readonly path: PathResult;
  readonly nativePath: PathResult | null;
  /**
   * The workers' default client's path and the Java producer, PAIRS runs each in alternating pairs;
   * `java.produce` is the median of javaMBps.
   */
  readonly paired?: { client: KafkaClientName; pathMBps: number[]; javaMBps: number[] };
  readonly java: { produce: number; consume: number };
  readonly kafkajs: { produce: number; consume: number };
  readonly librdkafka: { produce: number; consume: number } | null;
}

export interface EncodingRow {
  readonly encoding: TensorEncoding;
  readonly path: PathResult;
  readonly kafkajsProduce: number;
  /** The same with the workers sending through librdkafka, against raw librdkafka records. */
  readonly nativePath?: PathResult | null;
  readonly librdkafkaProduce?: number | null;
}

/** Writes pipeline.{json,md} and pipeline.png (and .html) from measured or saved rows. */
export function writePipelineReport(
  sizeRows: SizeRow[],
  encodingRows: EncodingRow[],
  stackMode: string,
  rdkafkaVersion: string | null,
  { publishers, pairs }: PipelineSettings,
) {
  const mb = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const of = (x: number | undefined, ref: number) => (x === undefined ? '–' : (x / ref).toFixed(2));
  // The path the workers take by default, against the Java producer measured beside it in each pair.
  const pairedCell = (r: SizeRow) => {
    const p = r.paired as NonNullable<SizeRow['paired']>;
    const ratio = pairedRatios(p.pathMBps, p.javaMBps);
    const range = p.pathMBps.length > 1 ? `, ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}` : '';
    return `**${mb(median(p.pathMBps))} (${ratio.median.toFixed(2)}${range})**`;
  };
  const pairedRows = sizeRows.flatMap((r) =>
    (r.paired?.pathMBps ?? []).map((pathMBps, round) => {
      const java = r.paired?.javaMBps[round] as number;
      return [
        r.size,
        round + 1,
        pairOrder(round, 'path, then Java', 'Java, then path')[0],
        mb(java),
        mb(pathMBps),
        (pathMBps / java).toFixed(2),
      ];
    }),
  );
  const md = [
    "# The update path against Kafka's own tools",
    '',
    `Machine: ${JSON.stringify(machine())}; stack: ${stackMode}, one broker, acks=all, idempotent producers, read_committed consumers. ` +
      `Java: kafka-tools ${KAFKA_TOOLS_VERSION} (ProducerPerformance / ConsumerPerformance). ` +
      `librdkafka: ${rdkafkaVersion ? `@confluentinc/kafka-javascript (librdkafka ${rdkafkaVersion})` : 'not installed'}. ` +
      `Tributary: FLOAT32 updates published by ${publishers} workers (processes), sending through kafkajs and (last column) librdkafka, and folded as they arrive; MB = 10⁶ bytes. ` +
      'Measured after the broker was warmed up with the same traffic. ' +
      `The update path of the workers' default client and the Java producer are measured in ${pairs} pairs, back to back and alternating which goes first; ` +
      "their cells give the medians, and the path's fraction is the median of the ratios within each pair (with their range).",
    '',
    '## Throughput, MB/s (fraction of the Java producer)',
    '',
    table(
      [
        'record',
        'Java produce',
        'Java consume',
        'kafkajs produce',
        'kafkajs consume',
        'librdkafka produce',
        'librdkafka consume',
        'update path, kafkajs workers',
        'update path, librdkafka workers',
      ],
      sizeRows.map((r) => [
        `${r.size} (${r.bytes.toLocaleString()} B × ${r.records})`,
        r.paired && r.paired.javaMBps.length > 1
          ? `${mb(r.java.produce)} (${mb(Math.min(...r.paired.javaMBps))}–${mb(Math.max(...r.paired.javaMBps))})`
          : mb(r.java.produce),
        mb(r.java.consume),
        `${mb(r.kafkajs.produce)} (${of(r.kafkajs.produce, r.java.produce)})`,
        `${mb(r.kafkajs.consume)}`,
        r.librdkafka ? `${mb(r.librdkafka.produce)} (${of(r.librdkafka.produce, r.java.produce)})` : '–',
        r.librdkafka ? mb(r.librdkafka.consume) : '–',
        r.paired?.client === 'kafkajs'
          ? pairedCell(r)
          : `${mb(r.path.megabytesPerSecond)} (${of(r.path.megabytesPerSecond, r.java.produce)})`,
        r.paired?.client === 'librdkafka'
          ? pairedCell(r)
          : r.nativePath
            ? `**${mb(r.nativePath.megabytesPerSecond)} (${of(r.nativePath.megabytesPerSecond, r.java.produce)})**`
            : '–',
      ]),
    ),
    '',
    '## The pairs: update path (default client) and Java producer, back to back',
    '',
    table(['record', 'pair', 'order', 'Java produce MB/s', 'update path MB/s', 'path ÷ Java'], pairedRows),
    '',
    '## Encodings at 1,000,000 parameters: the path against raw records of the same size, per client',
    '',
    table(
      [
        'encoding',
        'bytes / update',
        'records / update',
        'updates/s, kafkajs workers',
        'path MB/s',
        'kafkajs produce MB/s',
        'path / raw',
        'updates/s, librdkafka workers',
        'path MB/s',
        'librdkafka produce MB/s',
        'path / raw',
      ],
      encodingRows.map((r) => [
        r.encoding,
        Math.round(r.path.bytesPerUpdate).toLocaleString(),
        r.path.recordsPerUpdate,
        r.path.updatesPerSecond.toFixed(1),
        mb(r.path.megabytesPerSecond),
        mb(r.kafkajsProduce),
        of(r.path.megabytesPerSecond, r.kafkajsProduce),
        r.nativePath ? r.nativePath.updatesPerSecond.toFixed(1) : '–',
        mb(r.nativePath?.megabytesPerSecond),
        mb(r.librdkafkaProduce ?? undefined),
        r.nativePath && r.librdkafkaProduce ? of(r.nativePath.megabytesPerSecond, r.librdkafkaProduce) : '–',
      ]),
    ),
    '',
  ].join('\n');
  const files = writeResult(
    'pipeline',
    {
      bench: 'pipeline',
      machine: machine(),
      stackMode,
      publishers,
      pairs,
      kafkaTools: KAFKA_TOOLS_VERSION,
      librdkafka: rdkafkaVersion,
      sizeRows,
      encodingRows,
    },
    md,
  );
  const x = (r: SizeRow) => r.bytes / 1e6;
  const line = (
    label: string,
    y: (r: SizeRow) => number | undefined,
    dashed = false,
    client?: KafkaClientName,
  ) => ({
    label,
    dashed,
    points: sizeRows.flatMap((r) => {
      // The paired path is drawn at the median of its within-pair ratios, as the table gives it.
      if (client && r.paired?.client === client)
        return [{ x: x(r), y: pairedRatios(r.paired.pathMBps, r.paired.javaMBps).median }];
      const value = y(r);
      return value === undefined ? [] : [{ x: x(r), y: value / r.java.produce }];
    }),
  });
  const chart = writeLineChart(join(RESULTS_DIR, 'pipeline'), {
    title: "Throughput as a fraction of Kafka's Java producer, one broker, acks=all",
    xLabel: 'record size, MB',
    yLabel: "÷ the Java producer's MB/s",
    yMin: 0,
    // Room above the highest line for the legend (top left).
    yMax: Math.max(4, ...sizeRows.map((r) => (r.librdkafka?.produce ?? 0) / r.java.produce + 1.5)),
    legend: 'top-left',
    horizontalLines: [
      { y: 1, label: 'Java producer' },
      { y: 0.8, label: 'goal 0.8' },
    ],
    series: [
      line('kafkajs producer', (r) => r.kafkajs.produce, true),
      line('librdkafka producer', (r) => r.librdkafka?.produce, true),
      line('update path, kafkajs workers (end to end)', (r) => r.path.megabytesPerSecond, false, 'kafkajs'),
      line(
        'update path, librdkafka workers (end to end)',
        (r) => r.nativePath?.megabytesPerSecond,
        false,
        'librdkafka',
      ),
    ],
    notes: [
      'Producers send one record at a time and await it, except the Java tool, which pipelines. ' +
        `The update path: ${publishers} worker processes encode and publish, one process reads read_committed, decodes and folds.`,
    ],
  });
  console.log(md);
  console.log(JSON.stringify({ bench: 'pipeline', written: { ...files, ...chart } }));
}
