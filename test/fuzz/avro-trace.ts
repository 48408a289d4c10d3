/**
 * An Avro binary encoder for the fuzzer that remembers where every varint it wrote sits (longs,
 * ints, lengths, block counts, union branches, enum indexes), so that a mutation can make exactly
 * one of them lie and splice the record back together. Follows the Avro 1.11 binary encoding;
 * cross-checked against avsc by the fuzz tests (an untouched trace equals avsc's bytes).
 */
import type avro from 'avsc';

export type SiteKind = 'int' | 'long' | 'length' | 'count' | 'branch' | 'enum' | 'boolean';

export interface Site {
  readonly kind: SiteKind;
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly value: number;
}

export interface Traced {
  readonly bytes: Buffer;
  readonly sites: readonly Site[];
}

/** Zig-zag varint of any integer up to ±2^63 (as a bigint), as Avro writes longs. */
export function varint(value: number | bigint): Buffer {
  let n = BigInt(value);
  n = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const out: number[] = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) byte |= 0x80;
    out.push(byte);
  } while (n > 0n);
  return Buffer.from(out);
}

interface TypeShape {
  readonly typeName: string;
  readonly fields?: readonly { readonly name: string; readonly type: avro.Type }[];
  readonly itemsType?: avro.Type;
  readonly valuesType?: avro.Type;
  readonly types?: readonly avro.Type[];
  readonly symbols?: readonly string[];
  readonly size?: number;
}

export function encodeTraced(type: avro.Type, value: unknown): Traced {
  const parts: Buffer[] = [];
  const sites: Site[] = [];
  let length = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  const site = (kind: SiteKind, path: string, n: number) => {
    const b = varint(n);
    sites.push({ kind, path, start: length, end: length + b.length, value: n });
    push(b);
  };
  const write = (t: avro.Type, v: unknown, path: string): void => {
    const s = t as unknown as TypeShape;
    const name = s.typeName.startsWith('union') ? 'union' : s.typeName;
    switch (name) {
      case 'null':
        return;
      case 'boolean':
        sites.push({ kind: 'boolean', path, start: length, end: length + 1, value: v ? 1 : 0 });
        push(Buffer.from([v ? 1 : 0]));
        return;
      case 'int':
        site('int', path, v as number);
        return;
      case 'long':
        site('long', path, v as number);
        return;
      case 'float': {
        const b = Buffer.alloc(4);
        b.writeFloatLE(v as number);
        push(b);
        return;
      }
      case 'double': {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(v as number);
        push(b);
        return;
      }
      case 'string': {
        const b = Buffer.from(v as string, 'utf8');
        site('length', path, b.length);
        push(b);
        return;
      }
      case 'bytes':
        site('length', path, (v as Buffer).length);
        push(v as Buffer);
        return;
      case 'fixed':
        push(v as Buffer);
        return;
      case 'enum':
        site('enum', path, (s.symbols ?? []).indexOf(v as string));
        return;
      case 'union': {
        const branches = s.types ?? [];
        const index =
          v === null || v === undefined // an absent optional field is written as null, as avsc does
            ? branches.findIndex((b) => b.typeName === 'null')
            : branches.findIndex((b) => b.typeName !== 'null');
        site('branch', path, index);
        write(branches[index] as avro.Type, v, path);
        return;
      }
      case 'record':
        for (const f of s.fields ?? [])
          write(f.type, (v as Record<string, unknown>)[f.name], `${path}.${f.name}`);
        return;
      case 'array': {
        const items = v as unknown[];
        if (items.length > 0) {
          site('count', path, items.length);
          items.forEach((item, i) => write(s.itemsType as avro.Type, item, `${path}[${i}]`));
        }
        site('count', `${path}.end`, 0);
        return;
      }
      case 'map': {
        const entries = Object.entries(v as Record<string, unknown>);
        if (entries.length > 0) {
          site('count', path, entries.length);
          for (const [k, item] of entries) {
            const kb = Buffer.from(k, 'utf8');
            site('length', `${path}{key}`, kb.length);
            push(kb);
            write(s.valuesType as avro.Type, item, `${path}{${k}}`);
          }
        }
        site('count', `${path}.end`, 0);
        return;
      }
      default:
        throw new Error(`encodeTraced: unsupported type ${s.typeName}`);
    }
  };
  write(type, value, '$');
  return { bytes: Buffer.concat(parts), sites };
}

/** `traced` with the varint at `site` replaced by `replacement` bytes. */
export function spliceSite(traced: Traced, site: Site, replacement: Buffer): Buffer {
  return Buffer.concat([traced.bytes.subarray(0, site.start), replacement, traced.bytes.subarray(site.end)]);
}
