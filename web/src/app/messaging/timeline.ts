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

/** The highest seq held, or 0. */
export function highestSeq(held: readonly Seqd[]): number {
  let top = 0;
  for (const x of held) if (x.seq > top) top = x.seq;
  return top;
}

/**
 * The highest seq up to which every item is held (seqs are gap-free from 1), or 0: where the
 * next catch-up starts (`items?after=`). Not `highestSeq`: an item this tab sent while its
 * socket was down is held by its Ack before the items others sent meanwhile, and catching up
 * from it would skip those for good.
 */
export function heldThrough(held: readonly Seqd[]): number {
  const seqs = new Set(held.map((x) => x.seq));
  let through = 0;
  while (seqs.has(through + 1)) through++;
  return through;
}
