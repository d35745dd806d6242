/**
 * Practice keys (spec §6.1–6.3, §10.2, §11.1): PRK (X25519) and PRSK (Ed25519), the recovery
 * sheet, PRSK wraps, the signed practice config chain, member certificates and revocations,
 * the recovery transfer and record, and destroy statements.
 *
 * Seeds exist as bytes only during the ceremony (to print the sheet) and while a seed typed from
 * the sheet is loaded for a recovery or export; `loadPracticeKey` recomputes the public key and
 * refuses a seed that does not match the config.
 */
import { CryptoError, fail } from "./errors";
import { checkAdvance, checkGenesis, type ChainHead } from "./chain";
import {
  B,
  I,
  L,
  T,
  U,
  b64url,
  base32,
  checkInteger,
  compareBytes,
  equalBytes,
  fromB64url,
  fromB64urlLen,
  fromBase32,
  labeled,
  pae,
  parseUuid,
  utf8,
  uuidFromBytes,
} from "./encoding";
import {
  generateSealableKeyPair,
  hpkeOpen,
  hpkeSeal,
  importKeyPairDerivingPub,
  keyId,
  pkcs8Seed,
  seedToPkcs8,
  sha256,
  sign,
  verify,
  wipe,
  type KeyAlg,
  type KeyPairWithPub,
} from "./primitives";
import type { Bytes, HpkeWrap, PublicKeyBytes, Signature } from "./types";

// ---- Ceremony and sheet (§6.1) --------------------------------------------------------------------

export interface Ceremony {
  readonly prk: KeyPairWithPub;
  readonly prsk: KeyPairWithPub;
  /** The 32-byte seeds, for printing the sheet only; wipe after printing. */
  readonly prkSeed: Bytes;
  readonly prskSeed: Bytes;
}

export async function practiceCeremony(): Promise<Ceremony> {
  const prk = await generateSealableKeyPair("x25519");
  const prsk = await generateSealableKeyPair("ed25519");
  const prkSeed = pkcs8Seed(prk.pkcs8, "x25519");
  const prskSeed = pkcs8Seed(prsk.pkcs8, "ed25519");
  wipe(prk.pkcs8, prsk.pkcs8);
  return { prk: { pair: prk.pair, pub: prk.pub }, prsk: { pair: prsk.pair, pub: prsk.pub }, prkSeed, prskSeed };
}

/** Base32 in groups of four, as printed on the sheet. */
export function formatSeed(seed: Uint8Array): string {
  return (base32(seed).match(/.{1,4}/g) ?? []).join(" ");
}

export function parseSeed(text: string): Bytes {
  const compact = text.replace(/[ -]/g, "").toUpperCase();
  const seed = fromBase32(compact);
  if (seed.length !== 32) fail("E_ENCODING", "a seed is 32 bytes");
  return seed;
}

const SHEET_PREFIX = "qr1-sheet:";

export function sheetQrPayload(practiceId: string, prkSeed: Uint8Array, prskSeed: Uint8Array): string {
  if (prkSeed.length !== 32 || prskSeed.length !== 32) fail("E_ENCODING", "a seed is 32 bytes");
  return SHEET_PREFIX + b64url(labeled("sheet", I(practiceId), B(prkSeed), B(prskSeed)));
}

export function parseSheetQrPayload(payload: string): { practiceId: string; prkSeed: Bytes; prskSeed: Bytes } {
  if (!payload.startsWith(SHEET_PREFIX)) fail("E_ENCODING", "not a recovery sheet code");
  const data = fromB64url(payload.slice(SHEET_PREFIX.length));
  const pieces = splitPae(data);
  const [label, pid, prk, prsk] = pieces;
  if (pieces.length !== 4 || label === undefined || pid === undefined || prk === undefined || prsk === undefined) {
    return fail("E_ENCODING", "recovery sheet code has the wrong shape");
  }
  if (!equalBytes(label, T("qr/v1/sheet")) || pid.length !== 16 || prk.length !== 32 || prsk.length !== 32) {
    fail("E_ENCODING", "recovery sheet code has the wrong shape");
  }
  return { practiceId: uuidFromBytes(pid), prkSeed: prk, prskSeed: prsk };
}

/** Splits a PAE into its pieces, strictly (`E_ENCODING` on any leftover or overrun). */
export function splitPae(data: Uint8Array): Bytes[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = (off: number): number => {
    if (off + 8 > data.length) fail("E_ENCODING", "PAE truncated");
    const n = view.getBigUint64(off, true);
    if (n > BigInt(data.length)) fail("E_ENCODING", "PAE length out of range");
    return Number(n);
  };
  const k = read(0);
  let off = 8;
  const out: Bytes[] = [];
  for (let i = 0; i < k; i++) {
    const n = read(off);
    off += 8;
    if (off + n > data.length) fail("E_ENCODING", "PAE truncated");
    out.push(B(data.subarray(off, off + n)));
    off += n;
  }
  if (off !== data.length) fail("E_ENCODING", "PAE has trailing bytes");
  if (!equalBytes(pae(out), data)) fail("E_ENCODING", "PAE not canonical");
  return out;
}

/**
 * Loads a PRK or PRSK seed (from the sheet or the offline tool), recomputes its public key and
 * refuses it unless it equals the key in the verified config (`E_CERT`).
 */
export async function loadPracticeKey(seed: Uint8Array, alg: KeyAlg, expectedPub: Uint8Array): Promise<KeyPairWithPub> {
  const pkcs8 = seedToPkcs8(seed, alg);
  try {
    const kp = await importKeyPairDerivingPub(pkcs8, alg);
    if (!equalBytes(kp.pub, expectedPub)) fail("E_CERT", "this seed does not belong to the practice config");
    return kp;
  } finally {
    wipe(pkcs8);
  }
}

// ---- PRSK wrap (§6.1) ---------------------------------------------------------------------------

export async function prskWrapInfo(practiceId: string, adminUserId: string, aekPub: Uint8Array, prskPub: Uint8Array): Promise<Bytes> {
  return labeled(
    "prsk-wrap",
    I(practiceId),
    I(adminUserId),
    B(await keyId("x25519", aekPub)),
    B(await keyId("ed25519", prskPub)),
  );
}

export async function sealPrskWrap(
  aekPub: Uint8Array,
  practiceId: string,
  adminUserId: string,
  prskPub: Uint8Array,
  prskPkcs8: Uint8Array,
): Promise<HpkeWrap> {
  pkcs8Seed(prskPkcs8, "ed25519");
  return hpkeSeal(aekPub, await prskWrapInfo(practiceId, adminUserId, aekPub, prskPub), prskPkcs8);
}

/** Opens a PRSK wrap with the admin's AEK and returns the non-extractable PRSK (`E_WRAP`). */
export async function openPrskWrap(
  aek: CryptoKeyPair,
  aekPub: Uint8Array,
  practiceId: string,
  adminUserId: string,
  prskPub: Uint8Array,
  wrap: Uint8Array,
): Promise<KeyPairWithPub> {
  const pkcs8 = await hpkeOpen(aek, await prskWrapInfo(practiceId, adminUserId, aekPub, prskPub), wrap, "E_WRAP");
  try {
    const kp = await importKeyPairDerivingPub(pkcs8, "ed25519").catch((e: unknown) => fail("E_WRAP", "wrap holds no Ed25519 key", e));
    if (!equalBytes(kp.pub, prskPub)) fail("E_WRAP", "wrapped key is not the PRSK");
    return kp;
  } finally {
    wipe(pkcs8);
  }
}

/**
 * Seals the PRSK to a new owner's or admin's AEK (§6.1) straight from the certifying admin's own
 * wrap, so the PRSK's private bytes exist only inside this function and are wiped before it
 * returns (the opened PRSK in the session is non-extractable and cannot be re-sealed).
 */
export async function resealPrskWrap(
  opener: { aek: CryptoKeyPair; aekPub: Uint8Array; userId: string },
  practiceId: string,
  prskPub: Uint8Array,
  ownWrap: Uint8Array,
  grantee: { userId: string; aekPub: Uint8Array },
): Promise<HpkeWrap> {
  const pkcs8 = await hpkeOpen(opener.aek, await prskWrapInfo(practiceId, opener.userId, opener.aekPub, prskPub), ownWrap, "E_WRAP");
  try {
    const kp = await importKeyPairDerivingPub(pkcs8, "ed25519").catch((e: unknown) => fail("E_WRAP", "wrap holds no Ed25519 key", e));
    if (!equalBytes(kp.pub, prskPub)) fail("E_WRAP", "wrapped key is not the PRSK");
    return await sealPrskWrap(grantee.aekPub, practiceId, grantee.userId, prskPub, pkcs8);
  } finally {
    wipe(pkcs8);
  }
}

// ---- Practice config (§6.2) ---------------------------------------------------------------------

export interface PracticeConfig {
  readonly suite: string;
  readonly practice_id: string;
  readonly seq: number;
  readonly prev_hash: string;
  readonly prsk_pub: string;
  readonly prk_pub: string;
  readonly name: string;
  /** Policy pairs; the message sorts them by key (UTF-8 bytes). */
  readonly policy: Readonly<Record<string, string>>;
  readonly sig: string;
}
export type UnsignedPracticeConfig = Omit<PracticeConfig, "sig">;

function sortedPolicy(policy: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(policy).sort(([a], [b]) => compareBytes(utf8(a), utf8(b)));
}

export function practiceConfigMessage(c: UnsignedPracticeConfig): Bytes {
  return labeled(
    "practice-config",
    I(c.practice_id),
    U(checkInteger(c.seq)),
    B(fromB64urlLen(c.prev_hash, 32, "prev_hash")),
    B(fromB64urlLen(c.prsk_pub, 32, "prsk_pub")),
    B(fromB64urlLen(c.prk_pub, 32, "prk_pub")),
    T(c.name),
    L(...sortedPolicy(c.policy).map(([k, v]) => L(T(k), T(v)))),
  );
}

export async function signPracticeConfig(prsk: CryptoKey, c: Omit<UnsignedPracticeConfig, "suite">): Promise<PracticeConfig> {
  const unsigned: UnsignedPracticeConfig = { suite: SUITE, ...c };
  return { ...unsigned, sig: b64url(await sign(prsk, practiceConfigMessage(unsigned))) };
}

/**
 * Verifies a config against the pinned PRSK: the config's `prsk_pub` must be the pinned key
 * (`E_CERT`: v1 has no PRSK rotation, a change is a blocking error) and the signature must
 * verify (`E_SIG`).
 */
export async function verifyPracticeConfig(c: PracticeConfig, pinnedPrskPub: Uint8Array): Promise<void> {
  checkSuite(c.suite);
  parseUuid(c.practice_id);
  // v1 has no PRSK rotation: a config naming another PRSK is a blocking certificate error.
  if (!equalBytes(fromB64urlLen(c.prsk_pub, 32, "prsk_pub"), pinnedPrskPub)) fail("E_CERT", "the practice signing key changed");
  await verify(pinnedPrskPub, fromB64urlLen(c.sig, 64, "sig"), practiceConfigMessage(c));
}

export async function practiceConfigHash(c: UnsignedPracticeConfig): Promise<Bytes> {
  return sha256(practiceConfigMessage(c));
}

/** Client side: verifies every version against the pinned PRSK, then the chain (§6.2). */
export async function acceptPracticeConfigs(
  pinned: ChainHead | undefined,
  versions: readonly PracticeConfig[],
  opts: { practiceId: string; prskPub: Uint8Array },
): Promise<ChainHead> {
  for (const c of versions) {
    if (c.practice_id !== opts.practiceId) fail("E_CERT", "config of another practice");
    await verifyPracticeConfig(c, opts.prskPub);
  }
  const first = versions[0];
  if (pinned === undefined && first !== undefined && first.seq === 1) checkGenesis(first);
  return checkAdvance(pinned, versions, practiceConfigMessage);
}

// ---- Member certificates and revocations (§6.3) -------------------------------------------------

export type Role = "owner" | "admin" | "therapist" | "client";
export type CertReason = "enrolled" | "recovered" | "rotated" | "role-change";
export type IssuerKind = "prsk" | "member";

export interface MemberCert {
  readonly suite: string;
  readonly practice_id: string;
  readonly user_id: string;
  readonly role: Role;
  readonly aik_pub: string;
  readonly valid_from: number;
  readonly reason: CertReason;
  readonly issuer_kind: IssuerKind;
  readonly issuer_key_id: string;
  readonly sig: string;
}
export type UnsignedMemberCert = Omit<MemberCert, "sig">;

const ROLES: readonly string[] = ["owner", "admin", "therapist", "client"];
const REASONS: readonly string[] = ["enrolled", "recovered", "rotated", "role-change"];

export function memberCertMessage(c: UnsignedMemberCert): Bytes {
  if (!ROLES.includes(c.role) || !REASONS.includes(c.reason) || !["prsk", "member"].includes(c.issuer_kind)) {
    fail("E_SCHEMA", "unknown role, reason or issuer kind");
  }
  return labeled(
    "member-cert",
    I(c.practice_id),
    I(c.user_id),
    T(c.role),
    B(fromB64urlLen(c.aik_pub, 32, "aik_pub")),
    U(checkInteger(c.valid_from)),
    T(c.reason),
    T(c.issuer_kind),
    B(fromB64urlLen(c.issuer_key_id, 16, "issuer_key_id")),
  );
}

export async function issueMemberCert(issuer: CryptoKey, c: Omit<UnsignedMemberCert, "suite">): Promise<MemberCert> {
  if (c.issuer_kind === "member" && c.role !== "client") fail("E_CERT", "members may certify clients only");
  const unsigned: UnsignedMemberCert = { suite: SUITE, ...c };
  return { ...unsigned, sig: b64url(await sign(issuer, memberCertMessage(unsigned))) };
}

export interface MemberRevocation {
  readonly suite: string;
  readonly practice_id: string;
  readonly user_id: string;
  readonly aik_id: string;
  readonly revoked_at: number;
  readonly reason: string;
  /** Which key signed (the PRSK or the certificate's issuer); not part of the signed message. */
  readonly signer_key_id: string;
  readonly sig: string;
}
export type UnsignedMemberRevocation = Omit<MemberRevocation, "sig">;

export function memberRevokeMessage(r: UnsignedMemberRevocation): Bytes {
  return labeled(
    "member-revoke",
    I(r.practice_id),
    I(r.user_id),
    B(fromB64urlLen(r.aik_id, 16, "aik_id")),
    U(checkInteger(r.revoked_at)),
    T(r.reason),
  );
}

export async function signMemberRevocation(
  signer: CryptoKey,
  signerPub: Uint8Array,
  r: Omit<UnsignedMemberRevocation, "suite" | "signer_key_id">,
): Promise<MemberRevocation> {
  const unsigned: UnsignedMemberRevocation = { suite: SUITE, ...r, signer_key_id: b64url(await keyId("ed25519", signerPub)) };
  return { ...unsigned, sig: b64url(await sign(signer, memberRevokeMessage(unsigned))) };
}

const STAFF_ROLES: readonly string[] = ["owner", "admin", "therapist"];

async function tryVerify(pub: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  return verify(pub, sig, msg).then(
    () => true,
    () => false,
  );
}

/**
 * What a verifier knows about one practice: the pinned PRSK, certificates and revocations.
 * Only public, signed data, so it may be filled straight from the (untrusted) server: every
 * lookup re-verifies. Every failure is `E_CERT`.
 */
export class Directory {
  constructor(
    readonly practiceId: string,
    readonly prskPub: Uint8Array,
    readonly certs: readonly MemberCert[] = [],
    readonly revocations: readonly MemberRevocation[] = [],
  ) {}

  async prskId(): Promise<string> {
    return b64url(await keyId("ed25519", this.prskPub));
  }

  private async issuerCerts(issuerKeyId: string): Promise<MemberCert[]> {
    const out: MemberCert[] = [];
    for (const c of this.certs) {
      if (c.issuer_kind === "prsk" && STAFF_ROLES.includes(c.role) && (await certAikId(c)) === issuerKeyId) out.push(c);
    }
    return out;
  }

  /** Earliest valid revocation of the certificate's AIK (by the PRSK or the cert's issuer). */
  async revokedAt(cert: MemberCert): Promise<number | undefined> {
    const aikId = await certAikId(cert);
    const prskId = await this.prskId();
    let earliest: number | undefined;
    for (const r of this.revocations) {
      if (r.practice_id !== this.practiceId || r.user_id !== cert.user_id || r.aik_id !== aikId) continue;
      let signer: Uint8Array | undefined;
      if (r.signer_key_id === prskId) signer = this.prskPub;
      else if (cert.issuer_kind === "member" && r.signer_key_id === cert.issuer_key_id) {
        const issuer = (await this.issuerCerts(cert.issuer_key_id))[0];
        signer = issuer === undefined ? undefined : fromB64url(issuer.aik_pub);
      }
      if (signer === undefined) continue;
      let msg: Uint8Array;
      try {
        msg = memberRevokeMessage(r);
      } catch {
        continue;
      }
      // A forged revocation must not be able to revoke anyone.
      if (!(await tryVerify(signer, fromB64url(r.sig), msg))) continue;
      if (earliest === undefined || r.revoked_at < earliest) earliest = r.revoked_at;
    }
    return earliest;
  }

  /**
   * Full chain check of one certificate (at most two deep) to the pinned PRSK; with `at`, also
   * validity and revocation at that time. `E_CERT` for every failure.
   */
  async verifyCert(cert: MemberCert, at?: number): Promise<void> {
    if (cert.suite !== SUITE) fail("E_CERT", "certificate of another suite");
    if (cert.practice_id !== this.practiceId) fail("E_CERT", "certificate from another practice");
    let msg: Uint8Array;
    try {
      msg = memberCertMessage(cert);
    } catch (e) {
      return fail("E_CERT", "malformed certificate", e);
    }
    if (cert.issuer_kind === "member" && cert.role !== "client") fail("E_CERT", "a member may certify clients only");
    if (cert.issuer_kind === "prsk") {
      if (cert.issuer_key_id !== (await this.prskId())) fail("E_CERT", "certificate issued by another PRSK");
      await verify(this.prskPub, fromB64url(cert.sig), msg, "E_CERT");
    } else {
      let ok = false;
      for (const issuer of await this.issuerCerts(cert.issuer_key_id)) {
        try {
          await this.verifyCert(issuer, cert.valid_from);
          await verify(fromB64url(issuer.aik_pub), fromB64url(cert.sig), msg, "E_CERT");
        } catch (e) {
          if (e instanceof CryptoError) continue;
          throw e;
        }
        ok = true;
        break;
      }
      if (!ok) fail("E_CERT", "no valid staff certificate for the issuer");
    }
    if (at !== undefined) {
      if (at < cert.valid_from) fail("E_CERT", "certificate not yet valid at that time");
      const revoked = await this.revokedAt(cert);
      if (revoked !== undefined && at >= revoked) fail("E_CERT", "certificate revoked at that time");
    }
  }

  /** A valid certificate for `userId`'s AIK `aikId` (base64url KID), else `E_CERT`. */
  async certifiedAik(userId: string, aikId: string, at?: number): Promise<MemberCert> {
    let last: CryptoError | undefined;
    for (const c of this.certs) {
      if (c.user_id !== userId || (await certAikId(c)) !== aikId) continue;
      try {
        await this.verifyCert(c, at);
      } catch (e) {
        if (e instanceof CryptoError) {
          last = e;
          continue;
        }
        throw e;
      }
      return c;
    }
    throw last ?? new CryptoError("E_CERT", "no certificate for this AIK");
  }

  /** Every AIK of a user with a valid chain (revoked ones included, for old data). */
  async aikPubs(userId: string): Promise<PublicKeyBytes[]> {
    const out: PublicKeyBytes[] = [];
    for (const c of this.certs) {
      if (c.user_id !== userId || out.some((p) => b64url(p) === c.aik_pub)) continue;
      try {
        await this.verifyCert(c);
      } catch {
        continue;
      }
      out.push(fromB64url(c.aik_pub) as PublicKeyBytes);
    }
    return out;
  }
}

async function certAikId(c: MemberCert): Promise<string> {
  try {
    return b64url(await keyId("ed25519", fromB64url(c.aik_pub)));
  } catch {
    return "";
  }
}

export function checkSuite(suite: string): void {
  if (suite !== SUITE) fail("E_SUITE", "unknown suite");
}

const SUITE = "qr1";

// ---- Recovery transfer and record (§10.2) --------------------------------------------------------

export async function recoveryTransferInfo(practiceId: string, userId: string, tPub: Uint8Array, aekPub: Uint8Array): Promise<Bytes> {
  return labeled("recovery-transfer", I(practiceId), I(userId), B(await keyId("x25519", tPub)), B(await keyId("x25519", aekPub)));
}

export async function sealRecoveryTransfer(
  tPub: Uint8Array,
  practiceId: string,
  userId: string,
  aekPub: Uint8Array,
  aekPkcs8: Uint8Array,
): Promise<HpkeWrap> {
  pkcs8Seed(aekPkcs8, "x25519");
  return hpkeSeal(tPub, await recoveryTransferInfo(practiceId, userId, tPub, aekPub), aekPkcs8);
}

/** The new device opens the transfer to the AEK PKCS#8 (checked against `aekPub`, `E_WRAP`). */
export async function openRecoveryTransfer(
  t: KeyPairWithPub,
  practiceId: string,
  userId: string,
  aekPub: Uint8Array,
  transfer: Uint8Array,
): Promise<Bytes> {
  const pkcs8 = await hpkeOpen(t.pair, await recoveryTransferInfo(practiceId, userId, t.pub, aekPub), transfer, "E_WRAP");
  const kp = await importKeyPairDerivingPub(pkcs8, "x25519").catch((e: unknown) => fail("E_WRAP", "no X25519 key", e));
  if (!equalBytes(kp.pub, aekPub)) fail("E_WRAP", "transferred key is not the AEK");
  return pkcs8;
}

export async function recoveryRecordMessage(
  practiceId: string,
  userId: string,
  tPub: Uint8Array,
  aekPub: Uint8Array,
  at: number,
  method: string,
): Promise<Bytes> {
  return labeled(
    "recovery-record",
    I(practiceId),
    I(userId),
    B(await keyId("x25519", tPub)),
    B(await keyId("x25519", aekPub)),
    U(checkInteger(at)),
    T(method),
  );
}

// ---- Destroy statement (§11.1) -----------------------------------------------------------------

export function destroyMessage(practiceId: string, chartId: string, itemIds: readonly string[], at: number, reason: string): Bytes {
  // The spec states no order; like the Python side, ids are sorted by their bytes.
  const sorted = itemIds.map((id) => I(id)).sort(compareBytes);
  return labeled("destroy", I(practiceId), I(chartId), L(...sorted), U(checkInteger(at)), T(reason));
}

export async function signDestroy(
  aik: CryptoKey,
  practiceId: string,
  chartId: string,
  itemIds: readonly string[],
  at: number,
  reason: string,
): Promise<Signature> {
  return sign(aik, destroyMessage(practiceId, chartId, itemIds, at, reason));
}
