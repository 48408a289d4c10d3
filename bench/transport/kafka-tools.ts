/**
 * Kafka's own Java performance tools as the physical reference: what the broker takes from, and
 * gives to, the Java client on this machine. Jars from Maven Central (./pom.xml) into a git-ignored
 * cache on first use; each run is one JVM, timed by the tool itself (its records/s, which exclude
 * the JVM's start).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../infra/stack/artifacts.js';

const POM = fileURLToPath(new URL('./pom.xml', import.meta.url));
/** Pinned in the pom only. */
export const KAFKA_TOOLS_VERSION = /<kafka\.tools\.version>([^<]+)</.exec(
  readFileSync(POM, 'utf8'),
)?.[1] as string;
const LIBS = join(PROJECT_ROOT, '.cache', 'kafka-tools', KAFKA_TOOLS_VERSION, 'libs');

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${stderr.slice(-2000)}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** The tools' classpath, fetching the jars first when the cache is cold. */
export async function ensureKafkaTools(onProgress: (message: string) => void): Promise<string> {
  if (!existsSync(join(LIBS, `kafka-tools-${KAFKA_TOOLS_VERSION}.jar`))) {
    onProgress(`fetching kafka-tools ${KAFKA_TOOLS_VERSION} from Maven into ${LIBS}`);
    await run('mvn', ['-B', '-q', '-f', POM, 'generate-resources'], 15 * 60_000);
  }
  return `${LIBS}/*`;
}

export interface ToolRate {
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
}

/** org.apache.kafka.tools.ProducerPerformance: `count` records of `bytes`, acks=all, idempotent. */
export async function javaProduce(
  classpath: string,
  bootstrap: string,
  topic: string,
  bytes: number,
  count: number,
): Promise<ToolRate> {
  const output = await run(
    'java',
    [
      '-cp',
      classpath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(count),
      '--record-size',
      String(bytes),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      'acks=all',
      'enable.idempotence=true',
      'max.request.size=16777216',
    ],
    10 * 60_000,
  );
  // "200 records sent, 25.01 records/sec (95.44 MB/sec), …" — the last such line is the total.
  const totals = [...output.matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].at(-1);
  if (!totals?.[2]) throw new Error(`no total in ProducerPerformance's output:\n${output.slice(-1500)}`);
  const recordsPerSecond = Number(totals[2]);
  return { recordsPerSecond, megabytesPerSecond: (recordsPerSecond * bytes) / 1e6 };
}

/** org.apache.kafka.tools.ConsumerPerformance: `count` records from the start, read_committed. */
export async function javaConsume(
  classpath: string,
  bootstrap: string,
  topic: string,
  bytes: number,
  count: number,
): Promise<ToolRate> {
  const output = await run(
    'java',
    [
      '-cp',
      classpath,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--num-records',
      String(count),
      '--timeout',
      '60000',
      '--command-property',
      'isolation.level=read_committed',
      '--command-property',
      'auto.offset.reset=earliest',
    ],
    10 * 60_000,
  );
  // Header then one row: …, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec (fetching only, no join).
  const lines = output.trim().split('\n');
  const header = lines.findIndex((l) => l.includes('fetch.nMsg.sec'));
  const columns = lines[header]?.split(',').map((c) => c.trim()) ?? [];
  const row = lines[header + 1]?.split(',').map((c) => c.trim()) ?? [];
  const recordsPerSecond = Number(row[columns.indexOf('fetch.nMsg.sec')]);
  if (!Number.isFinite(recordsPerSecond) || recordsPerSecond <= 0)
    throw new Error(`no rate in ConsumerPerformance's output:\n${output.slice(-1500)}`);
  return { recordsPerSecond, megabytesPerSecond: (recordsPerSecond * bytes) / 1e6 };
}
