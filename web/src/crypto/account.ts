/**
 * Account keys (spec §4): the user key UK, the bundle holding AIK (Ed25519) and AEK (X25519),
 * the password wrap, the PRK escrow of the AEK, the `aek_bind` statement and `K_local`.
 *
 * Raw bytes in JS memory, and why:
 * - UK: 32 random bytes; it is the plaintext of `pw_wrap` and `dev_wrap`, so it exists as bytes
 *   while one of those is sealed or opened. `UnlockedAccount` keeps only an HKDF CryptoKey of it;
 *   sealing a new wrap needs the bytes again, so `sealAccount` returns them and the caller wipes.
 * - AIK/AEK PKCS#8: once at generation, to seal the bundle and the escrow. Opening the bundle
 *   uses `unwrapKey`, so the private bytes never reach JS memory on unlock.
 */
import { fail, mapErrors } from "./errors";
import { B, I, L, T, U, b64url, checkInteger, fromB64url, fromB64urlLen, labeled, parseUuid } from "./encoding";
import type { KdfParams } from "./password";
import {
  ZS,
  aeadOpen,
  aeadSeal,
  generateSealableKeyPair,
  hkdfAesKey,
  hpkeOpen,
  hpkeSeal,
  importHkdfKey,
  importKeyPairDerivingPub,
  importPublicKey,
  keyId,
  randomBytes,
  sign,
  splitAead,
  verify,
  wipe,
} from "./primitives";
import type { AeadCiphertext, Bytes, HpkeWrap, KeyId, PublicKeyBytes, Signature, Uuid } from "./types";

/** An unlocked account, in memory only (per tab); forget it on lock, logout and quick exit. */
export interface UnlockedAccount {
  readonly userId: Uuid;
  /** UK as a non-extractable HKDF key (bundle key, local key). */
  readonly uk: CryptoKey;
  readonly aik: CryptoKeyPair;
  readonly aikPub: PublicKeyBytes;
  readonly aikId: KeyId;
  readonly aek: CryptoKeyPair;
  readonly aekPub: PublicKeyBytes;
  readonly aekId: KeyId;
  readonly ver: number;
}

export interface Bundle {
  readonly aik: AeadCiphertext;
  readonly aek: AeadCiphertext;
}

/** The bundle as stored on the server (JSON, base64url inside). */
export interface BundleEnvelope {
  readonly suite: string;
  readonly user_id: string;
  readonly ver: number;
  readonly aik_pub: string;
  readonly aek_pub: string;
  readonly aik: string;
  readonly aek: string;
}

/** The directory's `aek_bind` statement (JSON). */
export interface AekBindEnvelope {
  readonly suite: string;
  readonly user_id: string;
  readonly aek_pub: string;
  readonly ver: number;
  readonly created_at: number;
  readonly sig: string;
}

export function bundleEnvelope(userId: string, ver: number, aikPub: Uint8Array, aekPub: Uint8Array, bundle: Bundle): BundleEnvelope {
  return { suite: "qr1", user_id: userId, ver, aik_pub: b64url(aikPub), aek_pub: b64url(aekPub), aik: b64url(bundle.aik), aek: b64url(bundle.aek) };
}

/** Opens a bundle envelope with the UK (`E_SUITE`, `E_ENCODING`, `E_UNLOCK`). */
export async function openBundleEnvelope(uk: CryptoKey, env: BundleEnvelope): Promise<UnlockedAccount> {
  if (env.suite !== "qr1") fail("E_SUITE", "unknown suite");
  const bundle: Bundle = { aik: fromB64url(env.aik) as AeadCiphertext, aek: fromB64url(env.aek) as AeadCiphertext };
  return openBundle(uk, env.user_id, bundle, fromB64urlLen(env.aik_pub, 32, "aik_pub"), fromB64urlLen(env.aek_pub, 32, "aek_pub"), env.ver);
}

export async function aekBindEnvelope(aik: CryptoKey, userId: string, aekPub: Uint8Array, ver: number, createdAt: number): Promise<AekBindEnvelope> {
  const sig = await signAekBind(aik, userId, aekPub, ver, createdAt);
  return { suite: "qr1", user_id: userId, aek_pub: b64url(aekPub), ver, created_at: createdAt, sig: b64url(sig) };
}

/** Verifies an `aek_bind` envelope under the user's AIK (`E_SUITE`, `E_SIG`). */
export async function verifyAekBindEnvelope(aikPub: Uint8Array, env: AekBindEnvelope): Promise<void> {
  if (env.suite !== "qr1") fail("E_SUITE", "unknown suite");
  await verifyAekBind(aikPub, fromB64urlLen(env.sig, 64, "sig"), env.user_id, fromB64urlLen(env.aek_pub, 32, "aek_pub"), env.ver, env.created_at);
}

/** Readers use the valid `aek_bind` with the highest `ver` under the pinned AIK (§4.4). */
export async function currentAekBind(aikPub: Uint8Array, userId: string, binds: readonly AekBindEnvelope[]): Promise<AekBindEnvelope> {
  let best: AekBindEnvelope | undefined;
  for (const b of binds) {
    if (b.user_id !== userId) continue;
    try {
      await verifyAekBindEnvelope(aikPub, b);
    } catch {
      continue;
    }
    if (best === undefined || b.ver > best.ver) best = b;
  }
  return best ?? fail("E_SIG", "no valid aek_bind under this AIK");
}

export function generateUk(): Bytes {
  return randomBytes(32);
}

// ---- pw_wrap (§4.2) -------------------------------------------------------------------------------

export function pwWrapAad(userId: string, salt: Uint8Array, kdf: KdfParams, ver: number): Bytes {
  return labeled("pw-wrap", I(userId), B(salt), L(T("argon2id"), U(kdf.m), U(kdf.t), U(kdf.p)), U(ver));
}

export async function sealPwWrap(
  kek: CryptoKey,
  uk: Uint8Array,
  userId: string,
  salt: Uint8Array,
  kdf: KdfParams,
  ver: number,
): Promise<AeadCiphertext> {
  if (uk.length !== 32) fail("E_ENCODING", "UK must be 32 bytes");
  return aeadSeal(kek, uk, pwWrapAad(userId, salt, kdf, ver));
}

/** Opens `pw_wrap`; any failure is `E_UNLOCK` ("wrong password or Secret Key"). The UK bytes are returned; wipe them. */
export async function openPwWrap(
  kek: CryptoKey,
  pwWrap: Uint8Array,
  userId: string,
  salt: Uint8Array,
  kdf: KdfParams,
  ver: number,
): Promise<Bytes> {
  const uk = await aeadOpen(kek, pwWrap, pwWrapAad(userId, salt, kdf, ver), "E_UNLOCK");
  if (uk.length !== 32) fail("E_UNLOCK", "UK must be 32 bytes");
  return uk;
}

// ---- Bundle (§4.3) ------------------------------------------------------------------------------

export async function bundleKey(uk: CryptoKey | Uint8Array, userId: string): Promise<CryptoKey> {
  return hkdfAesKey(uk, ZS, labeled("bundle-key", I(userId)), ["encrypt", "decrypt", "unwrapKey"]);
}

export function bundleAad(userId: string, which: "aik" | "aek", pub: Uint8Array, ver: number): Bytes {
  return labeled("bundle", I(userId), T(which), B(pub), U(ver));
}

/**
 * Opens the bundle with `unwrapKey`, so the private keys are imported non-extractable without
 * their bytes reaching JS. A wrong UK, a tampered ciphertext or a swapped public key is `E_UNLOCK`.
 */
export async function openBundle(
  uk: CryptoKey,
  userId: string,
  bundle: Bundle,
  aikPub: Uint8Array,
  aekPub: Uint8Array,
  ver: number,
): Promise<UnlockedAccount> {
  const kb = await bundleKey(uk, userId);
  const unwrap = async (which: "aik" | "aek", ct: Uint8Array, pub: Uint8Array): Promise<CryptoKeyPair> => {
    const { nonce, body } = splitAead(ct, "E_UNLOCK");
    const alg = which === "aik" ? "ed25519" : "x25519";
    const privateKey = await mapErrors("E_UNLOCK", `cannot open bundle.${which}`, () =>
      globalThis.crypto.subtle.unwrapKey(
        "pkcs8",
        body,
        kb,
        { name: "AES-GCM", iv: nonce, additionalData: bundleAad(userId, which, pub, ver), tagLength: 128 },
        { name: which === "aik" ? "Ed25519" : "X25519" },
        false,
        which === "aik" ? ["sign"] : ["deriveBits"],
      ),
    );
    return { privateKey, publicKey: await importPublicKey(pub, alg) };
  };
  const aik = await unwrap("aik", bundle.aik, aikPub);
  const aek = await unwrap("aek", bundle.aek, aekPub);
  await checkPairsMatch(aik, aek);
  return {
    userId: parseUuid(userId),
    uk,
    aik,
    aikPub: B(aikPub) as PublicKeyBytes,
    aikId: await keyId("ed25519", aikPub),
    aek,
    aekPub: B(aekPub) as PublicKeyBytes,
    aekId: await keyId("x25519", aekPub),
    ver,
  };
}

/**
 * The private halves came out of `unwrapKey` and cannot be exported, so their match with the
 * published public keys is checked by use: the AIK signs a probe that `aik_pub` verifies, and the
 * AEK agrees on an X25519 secret with a fresh ephemeral key. A mismatch is `E_UNLOCK`.
 */
async function checkPairsMatch(aik: CryptoKeyPair, aek: CryptoKeyPair): Promise<void> {
  const subtle = globalThis.crypto.subtle;
  const probe = randomBytes(32);
  const sig = await subtle.sign({ name: "Ed25519" }, aik.privateKey, probe);
  if (!(await subtle.verify({ name: "Ed25519" }, aik.publicKey, sig, probe))) fail("E_UNLOCK", "bundle AIK does not match aik_pub");
  const eph = (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]));
  const a = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: eph.publicKey }, aek.privateKey, 256));
  const b = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: aek.publicKey }, eph.privateKey, 256));
  if (b64url(a) !== b64url(b)) fail("E_UNLOCK", "bundle AEK does not match aek_pub");
  wipe(a, b);
}

/**
 * Opens one bundle field to bytes (vector tests and the offline-tool parity checks only; the
 * app uses `openBundle`). Failure is `E_UNLOCK`.
 */
export async function openBundleField(
  uk: CryptoKey,
  userId: string,
  which: "aik" | "aek",
  ct: Uint8Array,
  pub: Uint8Array,
  ver: number,
): Promise<Bytes> {
  return aeadOpen(await bundleKey(uk, userId), ct, bundleAad(userId, which, pub, ver), "E_UNLOCK");
}

// ---- aek_bind and rec_escrow (§4.4) -------------------------------------------------------------

export function aekBindMessage(userId: string, aekPub: Uint8Array, ver: number, createdAt: number): Bytes {
  return labeled("aek-bind", I(userId), B(aekPub), U(ver), U(checkInteger(createdAt)));
}

export async function signAekBind(aik: CryptoKey, userId: string, aekPub: Uint8Array, ver: number, createdAt: number): Promise<Signature> {
  return sign(aik, aekBindMessage(userId, aekPub, ver, createdAt));
}

export async function verifyAekBind(
  aikPub: Uint8Array,
  sig: Uint8Array,
  userId: string,
  aekPub: Uint8Array,
  ver: number,
  createdAt: number,
): Promise<void> {
  await verify(aikPub, sig, aekBindMessage(userId, aekPub, ver, createdAt));
}

export async function recEscrowInfo(practiceId: string, userId: string, aekPub: Uint8Array, prkPub: Uint8Array): Promise<Bytes> {
  return labeled("rec-escrow", I(practiceId), I(userId), B(await keyId("x25519", aekPub)), B(await keyId("x25519", prkPub)));
}

export async function sealRecEscrow(
  prkPub: Uint8Array,
  practiceId: string,
  userId: string,
  aekPub: Uint8Array,
  aekPkcs8: Uint8Array,
): Promise<HpkeWrap> {
  return hpkeSeal(prkPub, await recEscrowInfo(practiceId, userId, aekPub, prkPub), aekPkcs8);
}

/**
 * PRK side (recovery): opens the escrow, checks the PKCS#8 form and that the recovered key's
 * public half is `aekPub` (`E_WRAP` otherwise). Returns the PKCS#8 bytes for a recovery transfer;
 * the caller wipes them.
 */
export async function openRecEscrow(
  prk: CryptoKeyPair,
  prkPub: Uint8Array,
  practiceId: string,
  userId: string,
  aekPub: Uint8Array,
  escrow: Uint8Array,
): Promise<Bytes> {
  const pkcs8 = await hpkeOpen(prk, await recEscrowInfo(practiceId, userId, aekPub, prkPub), escrow, "E_WRAP");
  const { pub } = await mapErrors("E_WRAP", "escrow holds no X25519 key", () => importKeyPairDerivingPub(pkcs8, "x25519"));
  if (b64url(pub) !== b64url(aekPub)) fail("E_WRAP", "escrowed key does not match aek_pub");
  return pkcs8;
}

// ---- Creating an account's keys -----------------------------------------------------------------

export interface SealedAccount {
  readonly account: UnlockedAccount;
  /** The UK bytes, needed to seal `pw_wrap` and `dev_wrap`s; wipe after use. */
  readonly ukBytes: Bytes;
  readonly bundle: Bundle;
  readonly aekBindSig: Signature;
  readonly recEscrow: HpkeWrap;
}

/**
 * Creates UK, AIK and AEK for a new account (or a rotation / recovery with a given AEK), seals
 * the bundle, signs `aek_bind` and escrows the AEK to the PRK. The PKCS#8 bytes are wiped here.
 */
export async function createAccountKeys(opts: {
  userId: string;
  practiceId: string;
  prkPub: Uint8Array;
  ver?: number;
  createdAt: number;
  /** A recovered AEK (§10.2 step 5) instead of a fresh one; wiped here. */
  recoveredAekPkcs8?: Uint8Array;
}): Promise<SealedAccount> {
  const userId = parseUuid(opts.userId);
  const ver = opts.ver ?? 1;
  const ukBytes = generateUk();
  const uk = await importHkdfKey(ukBytes);
  const aik = await generateSealableKeyPair("ed25519");
  const aek =
    opts.recoveredAekPkcs8 === undefined
      ? await generateSealableKeyPair("x25519")
      : { ...(await importKeyPairDerivingPub(opts.recoveredAekPkcs8, "x25519")), pkcs8: B(opts.recoveredAekPkcs8) };
  try {
    const kb = await bundleKey(uk, userId);
    const bundle: Bundle = {
      aik: await aeadSeal(kb, aik.pkcs8, bundleAad(userId, "aik", aik.pub, ver)),
      aek: await aeadSeal(kb, aek.pkcs8, bundleAad(userId, "aek", aek.pub, ver)),
    };
    const recEscrow = await sealRecEscrow(opts.prkPub, opts.practiceId, userId, aek.pub, aek.pkcs8);
    const aekBindSig = await signAekBind(aik.pair.privateKey, userId, aek.pub, ver, opts.createdAt);
    return {
      account: {
        userId,
        uk,
        aik: aik.pair,
        aikPub: aik.pub,
        aikId: await keyId("ed25519", aik.pub),
        aek: aek.pair,
        aekPub: aek.pub,
        aekId: await keyId("x25519", aek.pub),
        ver,
      },
      ukBytes,
      bundle,
      aekBindSig,
      recEscrow,
    };
  } finally {
    wipe(aik.pkcs8, aek.pkcs8, opts.recoveredAekPkcs8);
  }
}

// ---- K_local (§4.5) -----------------------------------------------------------------------------

/** `K_local = KDF(UK, ZS, PAE(T("qr/v1/local-key"), I(user_id), I(device_id)), 32)`. */
export async function localKey(uk: CryptoKey, userId: string, deviceId: string): Promise<CryptoKey> {
  return hkdfAesKey(uk, ZS, labeled("local-key", I(userId), I(deviceId)));
}

