/**
 * The replay cursor, carried in each checkpoint's manifest (./checkpoints.ts): for each `updates` partition,
 * the offset below which every record is reflected in that checkpoint (folded, buffered, or
 * recorded as rejected), and the keys of chunked updates that were still incomplete then.
 *
 * Committed offsets never pass the first chunk of an incomplete update, so a restarted coordinator
 * re-reads records it already handled; the cursor tells it to skip all of them except the chunks
 * of those incomplete updates, so nothing is folded or recorded twice. Pure.
 */
export interface ReplayCursor {
  readonly partitions: ReadonlyMap<number, number>;
  readonly heldKeys: ReadonlySet<string>;
}

export interface CursorJson {
  readonly partitions: Record<string, number>;
  readonly heldKeys: string[];
}

export function encodeCursor(cursor: ReplayCursor): CursorJson {
  return {
    partitions: Object.fromEntries([...cursor.partitions].map(([p, o]) => [String(p), o])),
    heldKeys: [...cursor.heldKeys],
  };
}

/** An absent or unreadable cursor (checkpoints from before cursors existed) skips nothing. */
export function decodeCursor(value: unknown): ReplayCursor {
  const empty: ReplayCursor = { partitions: new Map(), heldKeys: new Set() };
  if (typeof value !== 'object' || value === null) return empty;
  try {
    const json = value as Partial<CursorJson>;
    const partitions = new Map<number, number>();
    for (const [p, o] of Object.entries(json.partitions ?? {}))
      if (Number.isSafeInteger(Number(p)) && Number.isSafeInteger(o)) partitions.set(Number(p), o);
    const heldKeys = new Set((json.heldKeys ?? []).filter((k): k is string => typeof k === 'string'));
    return { partitions, heldKeys };
  } catch {
    return empty;
  }
}
