/**
 * Safety numbers and codes (spec §6.5): `fp30`, the 60-digit safety number of two users, the
 * practice security code and the recovery transfer code. Built on WebCrypto SHA-512.
 */
import { fail } from "./errors";
import { I, bytes, concat } from "./encoding";
import { sha512 } from "./primitives";

const ITERATIONS = 5200;

/**
 * `fp30(version, pub, ident)`: `d = BE16(version) ‖ pub ‖ ident`, then 5200 times
 * `d = SHA-512(d ‖ pub)`; six 5-digit groups from `BE40(d[5k:5k+5]) mod 100000`.
 */
export async function fp30(version: number, pub: Uint8Array, ident: Uint8Array): Promise<string> {
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) fail("E_ENCODING", "version is a 16-bit integer");
  const v = bytes(2);
  new DataView(v.buffer).setUint16(0, version, false);
  let d = concat(v, pub, ident);
  for (let i = 0; i < ITERATIONS; i++) d = await sha512(concat(d, pub));
  let out = "";
  for (let k = 0; k < 6; k++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + (d[5 * k + j] ?? 0);
    out += String(n % 100000).padStart(5, "0");
  }
  return out;
}

/** Safety number of users A and B: the smaller `fp30(0, aik_pub, I(user_id))` first; 60 digits. */
export async function safetyNumber(
  a: { userId: string; aikPub: Uint8Array },
  b: { userId: string; aikPub: Uint8Array },
): Promise<string> {
  const hA = await fp30(0, a.aikPub, I(a.userId));
  const hB = await fp30(0, b.aikPub, I(b.userId));
  return hA < hB ? hA + hB : hB + hA;
}

export function safetyNumberQrPayload(number: string): string {
  if (!/^\d{60}$/.test(number)) fail("E_ENCODING", "a safety number has 60 digits");
  return `QRSN1:${number}`;
}

/** `fp30(1, prsk_pub, I(practice_id))`. */
export async function practiceSecurityCode(practiceId: string, prskPub: Uint8Array): Promise<string> {
  return fp30(1, prskPub, I(practiceId));
}

/** `fp30(2, T_pub, I(user_id))` (§10.2). */
export async function recoveryTransferCode(userId: string, tPub: Uint8Array): Promise<string> {
  return fp30(2, tPub, I(userId));
}

/** Groups of 5 digits for display: 12 groups for a safety number, 6 for a code. */
export function groupDigits(digits: string): string[] {
  return digits.match(/\d{5}/g) ?? [];
}
