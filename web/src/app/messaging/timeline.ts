// The items of one conversation as this tab holds them: keyed by the server's `seq`, so a
// pushed item and the same item from a catch-up fetch are one entry, and the order is the
// server's order whatever order they arrived in.
export interface Seqd {
  readonly seq: number;
}

/** Adds `incoming` to `held` (sorted by seq): no duplicate seq, sorted; `held` unchanged. */
export function mergeBySeq<T extends Seqd>(held: readonly T[], incoming: readonly T[]): T[] {
  if (incoming.length === 0) return [...held];
  const bySeq = new Map<number, T>();
  for (const x of held) bySeq.set(x.seq, x);
  for (const x of incoming) if (!bySeq.has(x.seq)) bySeq.set(x.seq, x);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The highest seq held, or 0: where the next catch-up starts (`items?after=`). */
export function highestSeq(held: readonly Seqd[]): number {
  let top = 0;
  for (const x of held) if (x.seq > top) top = x.seq;
  return top;
}
