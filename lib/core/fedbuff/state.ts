/**
 * Exact checkpoint of a FedBuffAggregator: model, version, buffer (folded sums or deltas), the ids
 * folded, optimizer moments, and the served average if kept (./served.ts). Format (little-endian):
 *   "TRIBAGG1" | u32 header length | UTF-8 JSON header | zero padding to 4 bytes | float32 arrays
 * The header lists the arrays in order with their lengths; numbers in JSON round-trip exactly.
 */
import { TributaryError } from '../errors.js';
import { FedBuffAggregator, type AggregatorState } from './aggregator.js';
import { DEFAULT_FEDBUFF, validateFedBuffConfig } from './config.js';
import { emptyGuardWindow } from './guard.js';
import { modelLayout, type ModelLayout } from './layout.js';

const MAGIC = 'TRIBAGG1';

interface Header {
  readonly format: 1;
  readonly config: AggregatorState['config'];
  readonly layout: { architectureId: string; tensors: { name: string; shape: number[] }[] };
  readonly version: number;
  readonly bufferWeight: number;
  readonly buffered: AggregatorState['buffered'];
  /** Ids folded and still fresh enough to matter, and (format 1 with `foldedBase`) their base versions. */
  readonly foldedIds: string[];
  readonly foldedBase?: number[];
  /** Absent in checkpoints written before the influence guard existed. */
  readonly guardWindow?: AggregatorState['guardWindow'];
  readonly arrays: { name: string; length: number }[];
}

export function serializeAggregator(aggregator: FedBuffAggregator): Uint8Array {
  const s = aggregator.snapshot();
  const arrays: { name: string; values: Float32Array }[] = [
    { name: 'model', values: s.model },
    // An empty buffer's sum is all zeros: not worth a model's worth of checkpoint bytes.
    { name: 'bufferSum', values: s.buffered.length === 0 ? new Float32Array(0) : s.bufferSum },
    ...s.bufferDeltas.map((values, i) => ({ name: `bufferDelta${i}`, values })),
  ];
  if (s.moments.m) arrays.push({ name: 'm', values: s.moments.m });
  if (s.moments.v) arrays.push({ name: 'v', values: s.moments.v });
  if (s.served) arrays.push({ name: 'served', values: s.served });
  const header: Header = {
    format: 1,
    config: s.config,
    layout: {
      architectureId: s.layout.architectureId,
      tensors: s.layout.tensors.map((t) => ({ name: t.name, shape: [...t.shape] })),
    },
    version: s.version,
    bufferWeight: s.bufferWeight,
    buffered: s.buffered,
    foldedIds: [...s.foldedIds.keys()],
    foldedBase: [...s.foldedIds.values()],
    guardWindow: s.guardWindow,
    arrays: arrays.map((a) => ({ name: a.name, length: a.values.length })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = dataStart + arrays.reduce((n, a) => n + a.values.length * 4, 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let offset = dataStart;
  for (const a of arrays) {
    out.set(new Uint8Array(a.values.buffer, a.values.byteOffset, a.values.length * 4), offset);
    offset += a.values.length * 4;
  }
  return out;
}

function corrupt(message: string, cause?: unknown): never {
  throw new TributaryError('TRIB_STATE_CORRUPT', message, { cause });
}

function readHeader(bytes: Uint8Array): { header: Header; headerLength: number } {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    corrupt('not a Tributary aggregator checkpoint');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(8, true);
  if (12 + headerLength > bytes.length) corrupt('checkpoint header is truncated');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch (cause) {
    corrupt('checkpoint header is not valid JSON', cause);
  }
  if (header.format !== 1) corrupt(`unknown checkpoint format ${String(header.format)}`);
  return { header, headerLength };
}

/** The model layout a checkpoint holds, read from its header alone (no arrays copied). */
export function checkpointLayout(bytes: Uint8Array): ModelLayout {
  const { header } = readHeader(bytes);
  return modelLayout(header.layout.architectureId, header.layout.tensors);
}

export function restoreAggregator(bytes: Uint8Array): FedBuffAggregator {
  const { header, headerLength } = readHeader(bytes);
  // Checkpoints from before maxExamples, the guard and the served average existed take today's
  // defaults for them (appended, so a current checkpoint's header restores in its own key order,
  // bit for bit).
  const config = validateFedBuffConfig({
    ...header.config,
    maxExamples: 'maxExamples' in header.config ? header.config.maxExamples : DEFAULT_FEDBUFF.maxExamples,
    guard: 'guard' in header.config ? header.config.guard : DEFAULT_FEDBUFF.guard,
    servedAverage:
      'servedAverage' in header.config ? header.config.servedAverage : DEFAULT_FEDBUFF.servedAverage,
  });
  const layout: ModelLayout = modelLayout(header.layout.architectureId, header.layout.tensors);
  let offset = Math.ceil((12 + headerLength) / 4) * 4;
  const arrays = new Map<string, Float32Array>();
  for (const a of header.arrays) {
    const byteLength = a.length * 4;
    if (offset + byteLength > bytes.length) corrupt(`array ${a.name} is truncated`);
    const copy = new Float32Array(a.length);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + byteLength));
    arrays.set(a.name, copy);
    offset += byteLength;
  }
  if (offset !== bytes.length) corrupt(`checkpoint has ${bytes.length - offset} trailing bytes`);
  const model = arrays.get('model');
  if (!model || model.length !== layout.size) corrupt('checkpoint model does not match its layout');
  const bufferDeltas = header.arrays
    .filter((a) => a.name.startsWith('bufferDelta'))
    .map((a) => arrays.get(a.name) as Float32Array);
  return FedBuffAggregator.fromState({
    config,
    layout,
    version: header.version,
    model,
    bufferSum: restoredBufferSum(arrays.get('bufferSum'), config, layout),
    bufferWeight: header.bufferWeight,
    bufferDeltas,
    buffered: [...header.buffered],
    // Checkpoints from before base versions were kept: treat each id as folded from the current
    // version, so it is remembered for maxStaleness more versions.
    foldedIds: new Map(header.foldedIds.map((id, i) => [id, header.foldedBase?.[i] ?? header.version])),
    guardWindow: header.guardWindow ?? emptyGuardWindow(),
    moments: { m: arrays.get('m') ?? null, v: arrays.get('v') ?? null },
    served: restoredServed(arrays.get('served'), config, layout),
  });
}

/**
 * The saved served model; a checkpoint that averages but holds none (corrupt) is refused rather
 * than restarting the average from the model, which would serve a noisier model unannounced.
 */
function restoredServed(
  saved: Float32Array | undefined,
  config: AggregatorState['config'],
  layout: ModelLayout,
): Float32Array | null {
  if (config.servedAverage === 0) return null;
  if (!saved || saved.length !== layout.size) corrupt('checkpoint served model does not match its layout');
  return saved;
}

/** The saved buffer sum, or zeros where an empty buffer was saved without one (mean reduction only). */
function restoredBufferSum(
  saved: Float32Array | undefined,
  config: AggregatorState['config'],
  layout: ModelLayout,
): Float32Array {
  if (saved && saved.length > 0) return saved;
  return new Float32Array(config.reduction.kind === 'mean' ? layout.size : 0);
}
