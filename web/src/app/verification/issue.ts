// What an owner, admin or therapist does for others in the browser (crypto-protocol §6.3,
// §10.2): confirm a member's new identity key with a certificate, and run a practice-assisted
// recovery with the recovery sheet's PRK. Everything is built from the protocol core; secrets
// (the PRK, the escrowed AEK) exist only for the call and are wiped.
import {
  CryptoError,
  b64url,
  fromB64url,
  fp30,
  issueMemberCert,
  keyId,
  loadPracticeKey,
  openRecEscrow,
  parseSeed,
  parseSheetQrPayload,
  parseUuid,
  currentAekBind,
  recoveryRecordMessage,
  resealPrskWrap,
  sealRecoveryTransfer,
  signMemberRevocation,
  verifyPracticeConfig,
  type MemberCert,
  type MemberRevocation,
  type PracticeConfig,
} from "../../crypto";
import { fetchDirectory, type PendingCert } from "../../api/directory";
import { fetchAccountKeys } from "../../api/keys";
import type { OpenRecoveryRequest, RecoveryTransferUpload } from "../../api/recovery";
import type { KeySession } from "../keys/types";

function uuidBytes(userId: string): Uint8Array {
  const hex = parseUuid(userId).replaceAll("-", "");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** A member's identity code, `fp30(0, aik_pub, I(user_id))`: 30 digits, the half of a safety
 * number that is theirs. They see the same on their own "Verify keys" page. */
export async function memberCode(userId: string, aikPub: Uint8Array): Promise<string> {
  return fp30(0, aikPub, uuidBytes(userId));
}

/** May this session issue a certificate for `pending`? (The server enforces the same rules.) */
export function canConfirm(session: KeySession, pending: PendingCert): boolean {
  if (session.prsk !== null && (session.role === "owner" || session.role === "admin")) return true;
  return session.role === "therapist" && pending.role === "client";
}

export interface Confirmation {
  readonly cert: MemberCert;
  readonly revocation: MemberRevocation | null;
  /** For a new owner or admin: the PRSK sealed to their AEK, so their browser can certify too. */
  readonly prskWrap: string | null;
}

/** Seals the PRSK to the member's current AEK, found through an `aek_bind` signed by the very
 * AIK being certified (so the server cannot slip in a key of its own). */
async function prskWrapFor(session: KeySession, pending: PendingCert): Promise<string> {
  const [own, answer] = await Promise.all([fetchAccountKeys(session.deviceId), fetchDirectory(session.practiceId, [pending.user_id])]);
  const wrap = own?.prsk_wrap ?? null;
  if (wrap === null) throw new CryptoError("E_WRAP", "this account holds no PRSK wrap");
  const entry = answer.entries.find((e) => e.user_id === pending.user_id);
  if (entry === undefined) throw new CryptoError("E_CERT", "the member is not in the directory");
  const bind = await currentAekBind(fromB64url(pending.aik_pub), pending.user_id, entry.aek_binds);
  const sealed = await resealPrskWrap(
    { aek: session.account.aek, aekPub: session.account.aekPub, userId: session.userId },
    session.practiceId,
    session.prskPub,
    fromB64url(wrap),
    { userId: pending.user_id, aekPub: fromB64url(bind.aek_pub) },
  );
  return b64url(sealed);
}

/** Signs the certificate (with the PRSK, or a therapist's own AIK for a client) and, after a
 * recovery, the revocation of the member's previous AIK. */
export async function confirmPending(session: KeySession, pending: PendingCert, now: number = Date.now()): Promise<Confirmation> {
  const prsk = session.role === "owner" || session.role === "admin" ? session.prsk : null;
  const byPrsk = prsk !== null;
  if (!byPrsk && !(session.role === "therapist" && pending.role === "client")) {
    throw new CryptoError("E_CERT", "this account cannot confirm that member");
  }
  const signer = prsk ?? { pair: session.account.aik, pub: session.account.aikPub };
  const cert = await issueMemberCert(signer.pair.privateKey, {
    practice_id: session.practiceId,
    user_id: pending.user_id,
    role: pending.role,
    aik_pub: pending.aik_pub,
    valid_from: now,
    reason: pending.reason,
    issuer_kind: byPrsk ? "prsk" : "member",
    issuer_key_id: b64url(await keyId("ed25519", signer.pub)),
  });
  const revocation =
    pending.reason === "recovered" && pending.previous_aik_id !== null
      ? await signMemberRevocation(signer.pair.privateKey, signer.pub, {
          practice_id: session.practiceId,
          user_id: pending.user_id,
          aik_id: pending.previous_aik_id,
          revoked_at: now,
          reason: "recovered",
        })
      : null;
  const prskWrap = byPrsk && (pending.role === "owner" || pending.role === "admin") ? await prskWrapFor(session, pending) : null;
  return { cert, revocation, prskWrap };
}

/** The PRK seed typed from the sheet (base32 groups) or the sheet's QR text. */
export function readSheetSeed(text: string, practiceId: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.startsWith("qr1-sheet:")) {
    const sheet = parseSheetQrPayload(trimmed);
    sheet.prskSeed.fill(0); // not needed for a recovery
    if (sheet.practiceId !== practiceId) {
      sheet.prkSeed.fill(0);
      throw new CryptoError("E_CERT", "this sheet belongs to another practice");
    }
    return sheet.prkSeed;
  }
  return parseSeed(trimmed);
}

/** The current PRK public key, from the newest config verified against the pinned PRSK. */
export async function currentPrkPub(session: KeySession, configs: readonly PracticeConfig[]): Promise<Uint8Array> {
  const latest = configs[configs.length - 1];
  if (latest === undefined) throw new CryptoError("E_CERT", "the practice has no signed config");
  await verifyPracticeConfig(latest, session.prskPub);
  return fromB64url(latest.prk_pub);
}

/**
 * §10.2 step 4 in the browser ("recovery mode"): loads the PRK from the seed (refused unless it
 * matches the config), opens the person's escrow, seals their AEK to their one-time key T and
 * signs the recovery record with this admin's AIK. The seed and the AEK bytes are wiped here.
 */
export async function recoveryTransfer(
  session: KeySession,
  request: OpenRecoveryRequest,
  seed: Uint8Array,
  prkPub: Uint8Array,
  now: number = Date.now(),
): Promise<RecoveryTransferUpload> {
  let aekPkcs8: Uint8Array | undefined;
  try {
    const prk = await loadPracticeKey(seed, "x25519", prkPub);
    if (request.rec_escrow.prk_id !== b64url(await keyId("x25519", prkPub))) {
      throw new CryptoError("E_WRAP", "the escrow is sealed to another practice recovery key");
    }
    const tPub = fromB64url(request.t_pub);
    const aekPub = fromB64url(request.aek_pub);
    aekPkcs8 = await openRecEscrow(prk.pair, prkPub, session.practiceId, request.user_id, aekPub, fromB64url(request.rec_escrow.ct));
    const ct = await sealRecoveryTransfer(tPub, session.practiceId, request.user_id, aekPub, aekPkcs8);
    const message = await recoveryRecordMessage(session.practiceId, request.user_id, tPub, aekPub, now, "browser");
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, session.account.aik.privateKey, message));
    return { ct: b64url(ct), at: now, method: "browser", sig: b64url(sig) };
  } finally {
    seed.fill(0);
    aekPkcs8?.fill(0);
  }
}
