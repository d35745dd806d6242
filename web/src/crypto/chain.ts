/**
 * Versioned, hash-chained objects (device lists §5.3, practice configs §6.2): `seq` starts at 1
 * with a zero `prev_hash`; each version has `seq = previous + 1` and `prev_hash =
 * SHA-256(M_previous)` (the message, never the signature). Clients pin the highest
 * `(seq, SHA-256(M))` seen: lower `seq` → `E_ROLLBACK`, same `seq` with another hash or a gap →
 * `E_CHAIN`.
 */
import { fail } from "./errors";
import { constantTimeEqual, fromB64urlLen } from "./encoding";
import { sha256 } from "./primitives";
import type { Bytes } from "./types";

export interface Chained {
  readonly seq: number;
  readonly prev_hash: string;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: Bytes;
}

const ZERO_HASH = new Uint8Array(32);

export async function chainHead<C extends Chained>(obj: C, message: (c: C) => Uint8Array): Promise<ChainHead> {
  return { seq: obj.seq, hash: await sha256(message(obj)) };
}

export async function checkLink<C extends Chained>(previous: C, next: C, message: (c: C) => Uint8Array): Promise<void> {
  if (next.seq !== previous.seq + 1) fail("E_CHAIN", `seq ${next.seq} does not follow ${previous.seq}`);
  if (!constantTimeEqual(fromB64urlLen(next.prev_hash, 32, "prev_hash"), await sha256(message(previous)))) {
    fail("E_CHAIN", "prev_hash is not the hash of the previous version");
  }
}

export function checkGenesis(obj: Chained): void {
  if (obj.seq !== 1 || !constantTimeEqual(fromB64urlLen(obj.prev_hash, 32, "prev_hash"), ZERO_HASH)) {
    fail("E_CHAIN", "the first version must have seq 1 and a zero prev_hash");
  }
}

/**
 * Checks that `versions` (oldest first; may start with the pinned version itself) may replace
 * `pinned`, and returns the new head. Signatures are the caller's job.
 */
export async function checkAdvance<C extends Chained>(
  pinned: ChainHead | undefined,
  versions: readonly C[],
  message: (c: C) => Uint8Array,
): Promise<ChainHead> {
  const first = versions[0];
  const last = versions[versions.length - 1];
  if (first === undefined || last === undefined) return fail("E_CHAIN", "no version to accept");
  for (let i = 1; i < versions.length; i++) {
    const a = versions[i - 1];
    const b = versions[i];
    if (a !== undefined && b !== undefined) await checkLink(a, b, message);
  }
  const newest = await chainHead(last, message);
  if (pinned === undefined) return newest; // first contact: trust on first use
  if (newest.seq < pinned.seq) fail("E_ROLLBACK", `seq ${newest.seq} is lower than the pinned ${pinned.seq}`);
  // A history that contains the pinned version (the server sends every version) must hold it
  // unchanged; otherwise the versions must start right after it.
  const atPin = versions.find((v) => v.seq === pinned.seq);
  if (atPin !== undefined) {
    if (!constantTimeEqual((await chainHead(atPin, message)).hash, pinned.hash)) fail("E_CHAIN", "another version with the pinned seq (fork)");
    return newest;
  }
  if (first.seq !== pinned.seq + 1) fail("E_CHAIN", `missing versions between ${pinned.seq} and ${first.seq}`);
  if (!constantTimeEqual(fromB64urlLen(first.prev_hash, 32, "prev_hash"), pinned.hash)) {
    fail("E_CHAIN", "prev_hash does not extend the pinned version (fork)");
  }
  return newest;
}
