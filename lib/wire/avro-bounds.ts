/**
 * A bounds check of Avro binary data (Avro 1.11 spec, "Binary Encoding") against the writer's
 * schema, run before avsc decodes anything. Pure, no allocation proportional to what a record
 * claims: every length, block count, union branch and enum index is checked against the bytes that
 * remain, before it is believed.
 *
 * Why: avsc trusts block counts. A 20-byte record whose array claims 2^31 items makes it loop (and
 * allocate) 2^31 times. After this scan passes, avsc's work and memory are bounded by the record:
 *   - every string/bytes/fixed length fits in what remains;
 *   - every array/map block count fits too, item by item (a count of items that each take at least
 *     m bytes must satisfy count · m <= remaining), and all items of the record together are at
 *     most `maxItems` (which also bounds zero-byte items such as `null`);
 *   - ints fit in 32 bits, longs within [−2^52, 2^52) (so that avsc decodes them exactly: beyond that it
 *     can turn a negative long positive), varints are at most 5 / 10 bytes, booleans are 0 or 1;
 *   - nesting is at most `maxDepth` (recursive schemas), and no byte is left over.
 * The scan itself visits each byte and each item once, so its time is O(bytes + maxItems).
 */
import type avro from 'avsc';
import { WireError } from '../core/errors.js';

export interface AvroBounds {
  /** Array items plus map entries across the whole record. */
  readonly maxItems: number;
  /** Longest `string` (not `bytes`, which carries tensor data) in UTF-8 bytes. */
  readonly maxStringBytes: number;
  readonly maxDepth: number;
}

export const DEFAULT_AVRO_BOUNDS: AvroBounds = Object.freeze({
  maxItems: 100_000,
  maxStringBytes: 64 * 1024,
  maxDepth: 32,
});

export interface ScanReport {
  /** Array items and map entries seen. */
  readonly items: number;
  /** Schema nodes visited (fields, items, branches): the scan's work, at most bytes + items + nodes per item. */
  readonly steps: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

class Scan {
  pos = 0;
  items = 0;
  steps = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly bounds: AvroBounds,
  ) {}

  fail(message: string): never {
    throw new WireError('TRIB_DECODE_FAILED', `Avro bounds: ${message} (at byte ${this.pos})`, {
      details: { position: this.pos },
    });
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /**
   * A zig-zag varint of at most `maxBytes` bytes, as an exact JavaScript number. Its zig-zag form
   * must stay below 2^53 (so −2^52 <= value < 2^52): avsc decodes larger ones in floating point, where
   * an odd zig-zag value can round to an even one and a negative long comes out positive.
   */
  varint(maxBytes: number, what: string): number {
    let zigzag = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= maxBytes) this.fail(`${what} varint is longer than ${maxBytes} bytes`);
      if (this.pos >= this.bytes.length) this.fail(`${what} varint runs past the end`);
      const byte = this.bytes[this.pos++] as number;
      // Exact while the partial sum stays below 2^53; past that it is refused below anyway.
      zigzag += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    if (zigzag > MAX_SAFE) this.fail(`${what} is outside ±2^52`);
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  int(what: string): number {
    const value = this.varint(5, what);
    if (value < -0x80000000 || value > 0x7fffffff) this.fail(`${what} ${value} does not fit in an int`);
    return value;
  }

  long(what: string): number {
    return this.varint(10, what);
  }

  skip(length: number, what: string): void {
    if (length < 0) this.fail(`${what} has negative length ${length}`);
    if (length > this.remaining) this.fail(`${what} claims ${length} bytes, ${this.remaining} remain`);
    this.pos += length;
  }

  /** Block-encoded items of an array or map; `each` reads one item. */
  blocks(itemMinBytes: number, what: string, each: () => void): void {
    for (;;) {
      let count = this.long(`${what} block count`);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        const size = this.long(`${what} block size`);
        if (size < 0 || size > this.remaining)
          this.fail(`${what} block claims ${size} bytes, ${this.remaining} remain`);
      }
      if (count * itemMinBytes > this.remaining)
        this.fail(
          `${what} claims ${count} items of >= ${itemMinBytes} bytes, ${this.remaining} bytes remain`,
        );
      if (this.items + count > this.bounds.maxItems)
        this.fail(`${what} would take the record past ${this.bounds.maxItems} items`);
      this.items += count;
      for (let i = 0; i < count; i++) each();
    }
  }

  value(type: avro.Type, depth: number): void {
    this.steps += 1;
    if (depth > this.bounds.maxDepth) this.fail(`nesting deeper than ${this.bounds.maxDepth}`);
    const t = type as unknown as AvscTypeShape;
    switch (baseName(t)) {
      case 'null':
        return;
      case 'boolean': {
        if (this.remaining < 1) this.fail('boolean runs past the end');
        const b = this.bytes[this.pos++] as number;
        if (b > 1) this.fail(`boolean byte ${b} is not 0 or 1`);
        return;
      }
      case 'int':
        this.int('int');
        return;
      case 'long':
        this.long('long');
        return;
      case 'float':
        this.skip(4, 'float');
        return;
      case 'double':
        this.skip(8, 'double');
        return;
      case 'bytes':
        this.skip(this.long('bytes length'), 'bytes');
        return;
      case 'string': {
        const length = this.long('string length');
        if (length > this.bounds.maxStringBytes)
          this.fail(`string of ${length} bytes exceeds ${this.bounds.maxStringBytes}`);
        this.skip(length, 'string');
        return;
      }
      case 'fixed':
        this.skip(t.size ?? 0, 'fixed');
        return;
      case 'enum': {
        const index = this.int('enum index');
        const symbols = t.symbols ?? [];
        if (index < 0 || index >= symbols.length)
          this.fail(`enum index ${index} is not one of ${symbols.length} symbols`);
        return;
      }
      case 'union': {
        const branches = t.types ?? [];
        const index = this.long('union branch');
        if (index < 0 || index >= branches.length)
          this.fail(`union branch ${index} is not one of ${branches.length}`);
        this.value(branches[index] as avro.Type, depth + 1);
        return;
      }
      case 'record':
        for (const field of t.fields ?? []) this.value(field.type, depth + 1);
        return;
      case 'array': {
        const items = t.itemsType as avro.Type;
        this.blocks(minBytes(items), 'array', () => this.value(items, depth + 1));
        return;
      }
      case 'map': {
        const values = t.valuesType as avro.Type;
        this.blocks(1 + minBytes(values), 'map', () => {
          this.steps += 1;
          const length = this.long('map key length');
          if (length > this.bounds.maxStringBytes)
            this.fail(`map key of ${length} bytes exceeds ${this.bounds.maxStringBytes}`);
          this.skip(length, 'map key');
          this.value(values, depth + 1);
        });
        return;
      }
      default:
        this.fail(`unsupported Avro type ${t.typeName}`);
    }
  }
}

/** The parts of avsc's Type objects the scan reads. */
interface AvscTypeShape {
  readonly typeName: string;
  readonly underlyingType?: avro.Type;
  readonly fields?: readonly { readonly type: avro.Type }[];
  readonly itemsType?: avro.Type;
  readonly valuesType?: avro.Type;
  readonly types?: readonly avro.Type[];
  readonly symbols?: readonly string[];
  readonly size?: number;
}

function baseName(t: AvscTypeShape): string {
  if (t.typeName.startsWith('logical:') && t.underlyingType)
    return baseName(t.underlyingType as unknown as AvscTypeShape);
  if (t.typeName.startsWith('union')) return 'union';
  return t.typeName;
}

const minimums = new WeakMap<object, number>();

/** The fewest bytes a value of `type` can encode in (cycles through recursion count as 0). */
export function minBytes(type: avro.Type, visiting = new Set<object>()): number {
  const cached = minimums.get(type);
  if (cached !== undefined) return cached;
  if (visiting.has(type)) return 0;
  visiting.add(type);
  const t = type as unknown as AvscTypeShape;
  let result: number;
  switch (baseName(t)) {
    case 'null':
      result = 0;
      break;
    case 'float':
      result = 4;
      break;
    case 'double':
      result = 8;
      break;
    case 'fixed':
      result = t.size ?? 0;
      break;
    case 'union':
      result = 1 + Math.min(...(t.types ?? []).map((b) => minBytes(b, visiting)));
      break;
    case 'record':
      result = (t.fields ?? []).reduce((sum, f) => sum + minBytes(f.type, visiting), 0);
      break;
    default: // boolean, int, long, enum, string, bytes, array, map: at least one varint byte
      result = 1;
  }
  visiting.delete(type);
  minimums.set(type, result);
  return result;
}

/**
 * Checks that `bytes` is one complete value of `writer` within `bounds`; throws WireError
 * (TRIB_DECODE_FAILED) naming the first lie otherwise.
 */
export function checkAvroBounds(
  writer: avro.Type,
  bytes: Uint8Array,
  bounds: AvroBounds = DEFAULT_AVRO_BOUNDS,
): ScanReport {
  const scan = new Scan(bytes, bounds);
  scan.value(writer, 0);
  if (scan.pos !== bytes.length) scan.fail(`${bytes.length - scan.pos} bytes left over after the record`);
  return { items: scan.items, steps: scan.steps };
}
