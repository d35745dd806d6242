/**
 * Password-derived keys and the staff Secret Key (spec §3).
 *
 *   pw      = UTF-8(NFKC(password))            (no trimming)
 *   MK      = Argon2id(pw, salt, m, t, p, 32)  (hash-wasm)
 *   authKey = base64url(KDF(MK, SK or ZS, PAE(T("qr/v1/auth")), 32))
 *   KEK     = KDF(MK, SK or ZS, PAE(T("qr/v1/kek")), 32)   → non-extractable AES-GCM key
 *
 * MK exists as bytes only between hash-wasm returning it and its import as a non-extractable
 * HKDF key; it is then wiped. Argon2id SHOULD run in a Web Worker (the caller's choice: this
 * function is worker-safe, it touches no DOM).
 */
import { argon2id } from "hash-wasm";
import { fail } from "./errors";
import { b64url, base32, copyBytes, fromBase32, labeled } from "./encoding";
import { ZS, hkdf, hkdfAesKey, importHkdfKey, randomBytes, wipe } from "./primitives";
import type { Bytes } from "./types";

export interface KdfParams {
  readonly alg: "argon2id";
  readonly m: number;
  readonly t: number;
  readonly p: number;
}

export const DEFAULT_KDF: KdfParams = { alg: "argon2id", m: 65536, t: 3, p: 1 };

/** Client-side bounds, built in (spec §3.2): a server cannot hand out weaker parameters. */
export const KDF_BOUNDS = { mMin: 32768, mMax: 1048576, tMin: 3, tMax: 10, p: 1 } as const;

export function checkKdfParams(params: { alg: string; m: number; t: number; p: number }): KdfParams {
  const { alg, m, t, p } = params;
  if (alg !== "argon2id") fail("E_KDF_PARAMS", "only argon2id is allowed");
  for (const v of [m, t, p]) if (!Number.isSafeInteger(v)) fail("E_KDF_PARAMS", "parameters must be integers");
  if (m < KDF_BOUNDS.mMin || m > KDF_BOUNDS.mMax || t < KDF_BOUNDS.tMin || t > KDF_BOUNDS.tMax || p !== KDF_BOUNDS.p) {
    fail("E_KDF_PARAMS", `Argon2id parameters outside the built-in bounds (m=${m} t=${t} p=${p})`);
  }
  return { alg: "argon2id", m, t, p };
}

export const SALT_LEN = 16;
export const SECRET_KEY_LEN = 16;

export function normalizePassword(password: string): Bytes {
  return copyBytes(new TextEncoder().encode(password.normalize("NFKC")));
}

/** `MK = Argon2id(UTF-8(NFKC(password)), salt, m, t, p, 32)`, imported at once as an HKDF key. */
export async function deriveMasterKey(password: string, salt: Uint8Array, params: KdfParams): Promise<CryptoKey> {
  const mk = await deriveMasterKeyBytes(password, salt, params);
  try {
    return await importHkdfKey(mk);
  } finally {
    wipe(mk);
  }
}

/**
 * The raw MK bytes. Exposed for the vector tests only (they pin MK); production code uses
 * `deriveMasterKey`, which keeps MK inside a non-extractable CryptoKey.
 */
export async function deriveMasterKeyBytes(password: string, salt: Uint8Array, params: KdfParams): Promise<Bytes> {
  const p = checkKdfParams(params);
  if (salt.length !== SALT_LEN) fail("E_ENCODING", "salt must be 16 bytes");
  const pw = normalizePassword(password);
  try {
    const mk = await argon2id({
      password: pw,
      salt: copyBytes(salt),
      parallelism: p.p,
      iterations: p.t,
      memorySize: p.m,
      hashLength: 32,
      outputType: "binary",
    });
    return copyBytes(mk);
  } finally {
    wipe(pw);
  }
}

export interface PasswordKeys {
  /** 43 base64url characters: what allauth receives as the "password". */
  readonly authKey: string;
  /** Non-extractable AES-256-GCM key that opens `pw_wrap`. */
  readonly kek: CryptoKey;
}

/** Second half of §3.4 from an MK key; `secretKey` is the staff SK, `undefined` for clients. */
export async function deriveFromMasterKey(mk: CryptoKey, secretKey?: Uint8Array): Promise<PasswordKeys> {
  if (secretKey !== undefined && secretKey.length !== SECRET_KEY_LEN) fail("E_ENCODING", "Secret Key must be 16 bytes");
  const s2 = secretKey ?? ZS;
  const auth = await hkdf(mk, s2, labeled("auth"), 32);
  const kek = await hkdfAesKey(mk, s2, labeled("kek"));
  return { authKey: b64url(auth), kek };
}

export async function derivePasswordKeys(
  password: string,
  salt: Uint8Array,
  params: KdfParams,
  secretKey?: Uint8Array,
): Promise<PasswordKeys> {
  return deriveFromMasterKey(await deriveMasterKey(password, salt, params), secretKey);
}

// ---- Secret Key (spec §3.3) --------------------------------------------------------------------

export function generateSecretKey(): Bytes {
  return randomBytes(SECRET_KEY_LEN);
}

const SK_GROUPS = [6, 5, 5, 5, 5] as const;

/** `QR1-` and 26 base32 characters in groups 6-5-5-5-5. */
export function formatSecretKey(sk: Uint8Array): string {
  if (sk.length !== SECRET_KEY_LEN) fail("E_ENCODING", "Secret Key must be 16 bytes");
  const chars = base32(sk);
  const groups: string[] = [];
  let start = 0;
  for (const size of SK_GROUPS) {
    groups.push(chars.slice(start, start + size));
    start += size;
  }
  return `QR1-${groups.join("-")}`;
}

/** Ignores case, spaces and hyphens; the `QR1` prefix is optional; anything else is `E_ENCODING`. */
export function parseSecretKey(text: string): Bytes {
  let compact = text.replace(/[ -]/g, "").toUpperCase();
  // '1' is not a base32 character, so the prefix cannot be confused with key characters.
  if (compact.length === 29 && compact.startsWith("QR1")) compact = compact.slice(3);
  if (!/^[A-Z2-7]{26}$/.test(compact)) fail("E_ENCODING", "not a Secret Key");
  return fromBase32(compact);
}
