/**
 * Encodings (spec §2.2, §2.4, §2.6): PAE and typed pieces, strict base64url, base32, UUIDs.
 * Hand-written on purpose (spec §16): these are encodings, not primitives.
 */
import { fail } from "./errors";
import { v7 as uuidv7 } from "uuid";
import type { Bytes, Uuid } from "./types";

const MAX_INT = Number.MAX_SAFE_INTEGER; // 2^53 - 1

export function bytes(length: number): Bytes {
  return new Uint8Array(new ArrayBuffer(length));
}

/** Copies any byte view into a fresh `Bytes` (own `ArrayBuffer`, offset 0). */
export function copyBytes(src: Uint8Array): Bytes {
  const out = bytes(src.length);
  out.set(src);
  return out;
}

export function concat(...parts: readonly Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = bytes(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time comparison for secrets of public length (commitments, hashes). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return constantTimeEqual(a, b);
}

/** Lexicographic byte order (used for sorted lists). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function checkInteger(n: number, what = "integer"): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_INT) fail("E_ENCODING", `${what} out of range`);
  return n;
}

/** `LE64(n)`, n in [0, 2^53-1]. */
export function le64(n: number): Bytes {
  checkInteger(n);
  const out = bytes(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

export function be32(n: number): Bytes {
  const out = bytes(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

export function le32(n: number): Bytes {
  const out = bytes(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(s: string): Bytes {
  return copyBytes(encoder.encode(s));
}

export function fromUtf8(b: Uint8Array): string {
  try {
    return strictDecoder.decode(b);
  } catch (e) {
    return fail("E_ENCODING", "invalid UTF-8", e);
  }
}

// ---- PAE and typed pieces (spec §2.2) --------------------------------------------------------

/** `PAE(p_1..p_k) = LE64(k) ‖ LE64(len(p_1)) ‖ p_1 ‖ ... ‖ LE64(len(p_k)) ‖ p_k`. */
export function pae(pieces: readonly Uint8Array[]): Bytes {
  const parts: Uint8Array[] = [le64(pieces.length)];
  for (const p of pieces) parts.push(le64(p.length), p);
  return concat(...parts);
}

/** `T(s)`: UTF-8 text. */
export const T = (s: string): Bytes => utf8(s);
/** `U(n)`: LE64 of an integer in [0, 2^53-1]. */
export const U = (n: number): Bytes => le64(n);
/** `I(u)`: the 16 raw bytes of a canonical lowercase UUID. */
export const I = (u: string): Bytes => uuidToBytes(u);
/** `B(x)`: raw bytes. */
export const B = (x: Uint8Array = new Uint8Array(0)): Bytes => copyBytes(x);
/** `L(x_1..x_k)`: a nested PAE. */
export const L = (...xs: readonly Uint8Array[]): Bytes => pae(xs);

/** Every purpose label of spec §2.3 (each is prefixed `qr/v1/`). */
export type Label =
  | "auth"
  | "kek"
  | "bundle-key"
  | "local-key"
  | "cek-commit"
  | "body-key"
  | "pw-wrap"
  | "bundle"
  | "srv-at-rest"
  | "rec-escrow"
  | "dev-wrap"
  | "prsk-wrap"
  | "cek-wrap"
  | "recovery-transfer"
  | "aek-bind"
  | "device-list"
  | "practice-config"
  | "member-cert"
  | "member-revoke"
  | "item-sig"
  | "grant"
  | "recovery-record"
  | "destroy"
  | "webrtc-fp"
  | "key-id"
  | "item-hdr"
  | "salt"
  | "sheet"
  | "call-key";

/** A PAE whose first piece is the label `T("qr/v1/<purpose>")`, as every PAE must be. */
export function labeled(label: Label, ...pieces: readonly Uint8Array[]): Bytes {
  return pae([T(`qr/v1/${label}`), ...pieces]);
}

// ---- base64url, strict (spec §2.6) -----------------------------------------------------------

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_INDEX = new Map<string, number>(Array.from({ length: 64 }, (_, i) => [B64URL.charAt(i), i]));

export function b64url(data: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= data.length; i += 3) {
    const n = ((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0);
    out += B64URL.charAt(n >>> 18) + B64URL.charAt((n >>> 12) & 63) + B64URL.charAt((n >>> 6) & 63) + B64URL.charAt(n & 63);
  }
  const rest = data.length - i;
  if (rest === 1) {
    const n = (data[i] ?? 0) << 16;
    out += B64URL.charAt(n >>> 18) + B64URL.charAt((n >>> 12) & 63);
  } else if (rest === 2) {
    const n = ((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8);
    out += B64URL.charAt(n >>> 18) + B64URL.charAt((n >>> 12) & 63) + B64URL.charAt((n >>> 6) & 63);
  }
  return out;
}

/**
 * Decodes unpadded base64url and rejects padding, whitespace, other alphabets, impossible
 * lengths and non-zero trailing bits (decode, re-encode, compare), with `E_ENCODING`.
 */
export function fromB64url(text: string): Bytes {
  if (text.length % 4 === 1) fail("E_ENCODING", "base64url length");
  const out = bytes(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) fail("E_ENCODING", "base64url alphabet");
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if (b64url(out) !== text) fail("E_ENCODING", "base64url not canonical");
  return out;
}

/** Decodes base64url and checks the decoded length. */
export function fromB64urlLen(text: string, length: number, what: string): Bytes {
  const b = fromB64url(text);
  if (b.length !== length) fail("E_ENCODING", `${what} must be ${length} bytes`);
  return b;
}

// ---- base32 (RFC 4648 alphabet, no padding) --------------------------------------------------

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32(data: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32.charAt((acc >>> bits) & 31);
    }
  }
  if (bits > 0) out += B32.charAt((acc << (5 - bits)) & 31);
  return out;
}

/** Strict base32 (uppercase RFC 4648 alphabet, no padding, zero trailing bits). */
export function fromBase32(text: string): Bytes {
  const out = bytes(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = B32.indexOf(c);
    if (v < 0) fail("E_ENCODING", "base32 alphabet");
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if (base32(out) !== text) fail("E_ENCODING", "base32 not canonical");
  return out;
}

// ---- hex --------------------------------------------------------------------------------------

export function hex(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += b.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(text: string): Bytes {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) fail("E_ENCODING", "hex");
  const out = bytes(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ---- UUIDs (spec §2.4) ------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const NIL_UUID = "00000000-0000-0000-0000-000000000000" as Uuid;

/** Accepts only lowercase canonical UUID text. */
export function parseUuid(text: string): Uuid {
  if (!UUID_RE.test(text)) fail("E_ENCODING", "UUID must be lowercase canonical text");
  return text as Uuid;
}

export function uuidToBytes(text: string): Bytes {
  return fromHex(parseUuid(text).replaceAll("-", ""));
}

export function uuidFromBytes(b: Uint8Array): Uuid {
  if (b.length !== 16) fail("E_ENCODING", "UUID must be 16 bytes");
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` as Uuid;
}

/** True for an RFC 9562 version-7 UUID (version nibble 7, variant 10). */
export function isUuidV7(text: string): boolean {
  if (!UUID_RE.test(text)) return false;
  return text.charAt(14) === "7" && "89ab".includes(text.charAt(19));
}

/** Checks that an id made in a browser is a UUIDv7 (`E_ENCODING` otherwise). */
export function checkUuidV7(text: string): Uuid {
  if (!isUuidV7(text)) fail("E_ENCODING", "id must be a UUIDv7");
  return text as Uuid;
}

/** A fresh UUIDv7 for ids made in the browser (item, device, recovery request). */
export function newUuidV7(): Uuid {
  return checkUuidV7(uuidv7());
}
