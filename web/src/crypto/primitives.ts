/**
 * Thin wrappers over the primitives we are allowed to use (spec §2.1, §16): WebCrypto (AES-GCM,
 * HKDF, SHA-256/512, Ed25519, X25519, random) and @hpke/core. Nothing here implements a
 * primitive; it fixes algorithms, lengths and error codes in one place.
 *
 * Where raw key bytes exist in JS memory (transiently, by necessity):
 * - HKDF input keying material (MK, UK, CEK) until it is imported as a non-extractable HKDF key;
 *   the CEK also while it is HPKE plaintext (wrapping), the UK while it is AEAD/HPKE plaintext.
 * - PKCS#8 of a freshly generated AIK/AEK/PRK/PRSK, once, to seal it (bundle, escrow, PRSK wrap),
 *   and a seed typed from the recovery sheet; each is re-imported non-extractable and dropped.
 * Callers zero such arrays with `wipe()` when done (best effort: JS cannot guarantee it).
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { CryptoError, fail, mapErrors, type ErrorCode } from "./errors";
import { B, T, bytes, concat, copyBytes, fromB64urlLen, labeled } from "./encoding";
import type { AeadCiphertext, Bytes, HpkeWrap, KeyId, PublicKeyBytes, Signature } from "./types";

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** `ZS`: 32 zero bytes, the HKDF salt wherever the spec says "empty salt". */
export const ZS: Bytes = bytes(32);

export function randomBytes(n: number): Bytes {
  const out = bytes(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Best-effort zeroing of transient secret bytes. */
export function wipe(...arrays: readonly (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-256", copyIfShared(data)));
}

export async function sha512(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-512", copyIfShared(data)));
}

function copyIfShared(data: Uint8Array): Bytes {
  return data.buffer instanceof ArrayBuffer ? (data as Bytes) : copyBytes(data);
}

/**
 * Feature detection at start (§15): the browser floor is what has Ed25519 and X25519 in
 * WebCrypto (Chrome/Edge 137, Firefox 130, Safari 17). Returns what is missing, to explain it.
 */
export async function detectSupport(): Promise<{ ok: boolean; missing: string[] }> {
  const missing: string[] = [];
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.subtle === undefined) return { ok: false, missing: ["WebCrypto (a secure context is required)"] };
  for (const [name, usages] of [["Ed25519", ["sign", "verify"]], ["X25519", ["deriveBits"]]] as const) {
    try {
      await c.subtle.generateKey({ name }, false, [...usages]);
    } catch {
      missing.push(name);
    }
  }
  if (typeof ReadableStream === "undefined" || typeof TransformStream === "undefined") missing.push("Streams");
  return { ok: missing.length === 0, missing };
}

// ---- HKDF (always full Extract+Expand, spec §2.1) ------------------------------------------------

/** Imports IKM as a non-extractable HKDF key (WebCrypto HKDF keys are never extractable). */
export async function importHkdfKey(ikm: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey("raw", copyIfShared(ikm), "HKDF", false, ["deriveBits", "deriveKey"]);
}

async function asHkdfKey(ikm: CryptoKey | Uint8Array): Promise<CryptoKey> {
  return ikm instanceof Uint8Array ? importHkdfKey(ikm) : ikm;
}

/** `KDF(ikm, salt, info, n)` as bytes. */
export async function hkdf(ikm: CryptoKey | Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Bytes> {
  const key = await asHkdfKey(ikm);
  const bits = await subtle().deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: copyIfShared(salt), info: copyIfShared(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** `KDF(ikm, salt, info, 32)` as a non-extractable AES-256-GCM key. */
export async function hkdfAesKey(
  ikm: CryptoKey | Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  usages: KeyUsage[] = ["encrypt", "decrypt"],
): Promise<CryptoKey> {
  const key = await asHkdfKey(ikm);
  return subtle().deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: copyIfShared(salt), info: copyIfShared(info) },
    key,
    { name: "AES-GCM", length: 256 },
    false,
    usages,
  );
}

// ---- AES-256-GCM: nonce(12) ‖ ct ‖ tag(16) ------------------------------------------------------

export async function importAesKey(raw: Uint8Array, usages: KeyUsage[] = ["encrypt", "decrypt"]): Promise<CryptoKey> {
  if (raw.length !== 32) fail("E_ENCODING", "AES key must be 32 bytes");
  return subtle().importKey("raw", copyIfShared(raw), { name: "AES-GCM" }, false, usages);
}

export async function aeadSeal(key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<AeadCiphertext> {
  const nonce = randomBytes(12);
  const ct = await subtle().encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: copyIfShared(aad), tagLength: 128 },
    key,
    copyIfShared(plaintext),
  );
  return concat(nonce, new Uint8Array(ct)) as AeadCiphertext;
}

export function splitAead(ct: Uint8Array, code: ErrorCode): { nonce: Bytes; body: Bytes } {
  if (ct.length < 28) fail(code, "AES-GCM ciphertext too short");
  return { nonce: copyBytes(ct.subarray(0, 12)), body: copyBytes(ct.subarray(12)) };
}

/** Opens `nonce ‖ ct ‖ tag`; any failure becomes `code`. */
export async function aeadOpen(key: CryptoKey, ct: Uint8Array, aad: Uint8Array, code: ErrorCode): Promise<Bytes> {
  const { nonce, body } = splitAead(ct, code);
  return mapErrors(code, "AES-GCM open failed", async () => {
    const pt = await subtle().decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: copyIfShared(aad), tagLength: 128 },
      key,
      body,
    );
    return new Uint8Array(pt);
  });
}

// ---- Keys, PKCS#8 (spec §2.5) -------------------------------------------------------------------

export type KeyAlg = "x25519" | "ed25519";

const PKCS8_PREFIX: Record<KeyAlg, string> = {
  x25519: "302e020100300506032b656e04220420",
  ed25519: "302e020100300506032b657004220420",
};

function prefixBytes(alg: KeyAlg): Bytes {
  const h = PKCS8_PREFIX[alg];
  const out = bytes(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Checks the exact 48-byte PKCS#8 form (`E_ENCODING`) and returns the 32-byte seed view. */
export function pkcs8Seed(pkcs8: Uint8Array, alg: KeyAlg): Bytes {
  if (pkcs8.length !== 48) fail("E_ENCODING", "PKCS#8 key must be 48 bytes");
  const prefix = prefixBytes(alg);
  for (let i = 0; i < 16; i++) if (pkcs8[i] !== prefix[i]) fail("E_ENCODING", `not an ${alg} PKCS#8 key`);
  return copyBytes(pkcs8.subarray(16));
}

export function seedToPkcs8(seed: Uint8Array, alg: KeyAlg): Bytes {
  if (seed.length !== 32) fail("E_ENCODING", "seed must be 32 bytes");
  return concat(prefixBytes(alg), seed);
}

const ALG_NAME: Record<KeyAlg, string> = { x25519: "X25519", ed25519: "Ed25519" };
const PRIV_USAGES: Record<KeyAlg, KeyUsage[]> = { x25519: ["deriveBits"], ed25519: ["sign"] };
const PUB_USAGES: Record<KeyAlg, KeyUsage[]> = { x25519: [], ed25519: ["verify"] };

export async function importPublicKey(raw: Uint8Array, alg: KeyAlg): Promise<CryptoKey> {
  if (raw.length !== 32) fail("E_ENCODING", `${alg} public key must be 32 bytes`);
  return mapErrors("E_ENCODING", `invalid ${alg} public key`, () =>
    subtle().importKey("raw", copyIfShared(raw), { name: ALG_NAME[alg] }, true, PUB_USAGES[alg]),
  );
}

export async function exportPublicKey(key: CryptoKey): Promise<PublicKeyBytes> {
  return new Uint8Array(await subtle().exportKey("raw", key)) as PublicKeyBytes;
}

/** A non-extractable key pair whose public half is known as raw bytes. */
export interface KeyPairWithPub {
  readonly pair: CryptoKeyPair;
  readonly pub: PublicKeyBytes;
}

/** Generates a non-extractable key pair (device keys, one-time recovery keys). */
export async function generateKeyPair(alg: KeyAlg): Promise<KeyPairWithPub> {
  const usages: KeyUsage[] = alg === "x25519" ? ["deriveBits"] : ["sign", "verify"];
  const pair = (await subtle().generateKey({ name: ALG_NAME[alg] }, false, usages)) as CryptoKeyPair;
  return { pair, pub: await exportPublicKey(pair.publicKey) };
}

/**
 * Generates a key pair whose private half must be sealed once (AIK, AEK, PRK, PRSK): the key is
 * created extractable, exported once to PKCS#8, re-imported non-extractable (spec §4.3). The
 * returned `pkcs8` is the only copy of the private bytes; the caller seals it and wipes it.
 */
export async function generateSealableKeyPair(alg: KeyAlg): Promise<KeyPairWithPub & { pkcs8: Bytes }> {
  const usages: KeyUsage[] = alg === "x25519" ? ["deriveBits"] : ["sign", "verify"];
  const tmp = (await subtle().generateKey({ name: ALG_NAME[alg] }, true, usages)) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await subtle().exportKey("pkcs8", tmp.privateKey));
  pkcs8Seed(pkcs8, alg); // both implementations check the 48-byte form both ways
  const pub = await exportPublicKey(tmp.publicKey);
  const pair = await importKeyPair(pkcs8, pub, alg);
  return { pair, pub, pkcs8 };
}

/** Imports a private PKCS#8 key non-extractable, paired with its known public key. */
export async function importKeyPair(pkcs8: Uint8Array, pub: Uint8Array, alg: KeyAlg): Promise<CryptoKeyPair> {
  pkcs8Seed(pkcs8, alg);
  const privateKey = await mapErrors("E_ENCODING", `invalid ${alg} private key`, () =>
    subtle().importKey("pkcs8", copyIfShared(pkcs8), { name: ALG_NAME[alg] }, false, PRIV_USAGES[alg]),
  );
  return { privateKey, publicKey: await importPublicKey(pub, alg) };
}

/**
 * Imports a PKCS#8 key and recomputes its public key (for seeds from the recovery sheet, or
 * keys recovered from an escrow or a transfer). The key is imported extractable only long
 * enough to read the public `x` of its JWK, then re-imported non-extractable.
 */
export async function importKeyPairDerivingPub(pkcs8: Uint8Array, alg: KeyAlg): Promise<KeyPairWithPub> {
  pkcs8Seed(pkcs8, alg);
  const tmp = await mapErrors("E_ENCODING", `invalid ${alg} private key`, () =>
    subtle().importKey("pkcs8", copyIfShared(pkcs8), { name: ALG_NAME[alg] }, true, PRIV_USAGES[alg]),
  );
  const jwk = await subtle().exportKey("jwk", tmp);
  jwk.d = "";
  if (typeof jwk.x !== "string") fail("E_ENCODING", "JWK without public key");
  const pub = fromB64urlLen(jwk.x, 32, "public key") as PublicKeyBytes;
  return { pair: await importKeyPair(pkcs8, pub, alg), pub };
}

/** `KID(alg, pub) = SHA-256(PAE(T("qr/v1/key-id"), T(alg), B(pub)))[0:16]`. */
export async function keyId(alg: KeyAlg, pub: Uint8Array): Promise<KeyId> {
  if (pub.length !== 32) fail("E_ENCODING", "public key must be 32 bytes");
  const h = await sha256(labeled("key-id", T(alg), B(pub)));
  return copyBytes(h.subarray(0, 16)) as KeyId;
}

// ---- Ed25519 ------------------------------------------------------------------------------------

export async function sign(privateKey: CryptoKey, message: Uint8Array): Promise<Signature> {
  return new Uint8Array(await subtle().sign({ name: "Ed25519" }, privateKey, copyIfShared(message))) as Signature;
}

/** Verifies an Ed25519 signature; a bad signature, key or length raises `code` (default `E_SIG`). */
export async function verify(
  pub: Uint8Array | CryptoKey,
  signature: Uint8Array,
  message: Uint8Array,
  code: ErrorCode = "E_SIG",
): Promise<void> {
  if (signature.length !== 64) fail(code, "signature must be 64 bytes");
  const key = pub instanceof Uint8Array ? await importPublicKey(pub, "ed25519").catch((e: unknown) => fail(code, "bad public key", e)) : pub;
  const ok = await mapErrors(code, "verification failed", () =>
    subtle().verify({ name: "Ed25519" }, key, copyIfShared(signature), copyIfShared(message)),
  );
  if (!ok) fail(code, "signature does not verify");
}

// ---- HPKE (RFC 9180 base mode; empty aad, all context in info; wrap = enc ‖ ct) -----------------

let suiteInstance: CipherSuite | undefined;
function suite(): CipherSuite {
  suiteInstance ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return suiteInstance;
}

const ENC_LEN = 32;

export async function hpkeSeal(recipientPub: Uint8Array, info: Uint8Array, plaintext: Uint8Array): Promise<HpkeWrap> {
  if (recipientPub.length !== 32) fail("E_ENCODING", "X25519 public key must be 32 bytes");
  const s = suite();
  const pk = await mapErrors("E_ENCODING", "invalid X25519 public key", () =>
    s.kem.deserializePublicKey(copyIfShared(recipientPub).slice().buffer),
  );
  const sender = await s.createSenderContext({ recipientPublicKey: pk, info: copyIfShared(info).slice().buffer });
  const ct = await sender.seal(copyIfShared(plaintext).slice().buffer);
  return concat(new Uint8Array(sender.enc), new Uint8Array(ct)) as HpkeWrap;
}

/** Opens `enc ‖ ct` with a recipient key pair; every failure becomes `code` (default `E_WRAP`). */
export async function hpkeOpen(
  recipient: CryptoKeyPair,
  info: Uint8Array,
  wrap: Uint8Array,
  code: ErrorCode = "E_WRAP",
): Promise<Bytes> {
  if (wrap.length < ENC_LEN + 16) fail(code, "HPKE ciphertext too short");
  const s = suite();
  return mapErrors(code, "HPKE open failed", async () => {
    const ctx = await s.createRecipientContext({
      recipientKey: recipient,
      enc: wrap.slice(0, ENC_LEN).buffer,
      info: copyIfShared(info).slice().buffer,
    });
    return new Uint8Array(await ctx.open(wrap.slice(ENC_LEN).buffer));
  });
}

/** Re-raises a non-`CryptoError` as `code`; used where callers need to narrow generic failures. */
export function asCryptoError(e: unknown, code: ErrorCode, message: string): CryptoError {
  return e instanceof CryptoError ? e : new CryptoError(code, message, { cause: e });
}
