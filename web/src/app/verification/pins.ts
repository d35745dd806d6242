// Pinning peers' identity keys on this device (crypto-protocol §6.4) and their verified state
// (§6.5). A peer's AIK is accepted only with a valid certificate chain to the pinned PRSK, then
// pinned on first sight (TOFU) with its device-list head. A later, different AIK for a pinned
// peer is a blocking change the user must acknowledge; acknowledging re-pins and clears
// "verified". Messaging reuses `checkPeer` before sealing anything to a peer.
//
// §6.6 wants the verified state in an item sealed to the user's own AEK so it follows them to new
// devices; the item store does not exist yet, so it stays in this device's keystore for now.
import {
  CryptoError,
  Directory,
  acceptDeviceLists,
  b64url,
  fromB64url,
  keyId,
  type ErrorCode,
  type MemberCert,
  type PeerPin,
} from "../../crypto";
import type { DirectoryAnswer, DirectoryEntry } from "../../api/directory";
import type { KeySession } from "../keys/types";

export type PeerState =
  /** Certified and pinned; `verified` after the two people compared their safety number. */
  | { readonly kind: "pinned"; readonly userId: string; readonly aikPub: string; readonly cert: MemberCert; readonly verified: boolean }
  /** Certified, but not the AIK pinned here: blocking until acknowledged (`E_PIN_CHANGED`). */
  | {
      readonly kind: "changed";
      readonly userId: string;
      readonly aikPub: string;
      readonly previousAikPub: string;
      readonly cert: MemberCert;
      readonly wasVerified: boolean;
    }
  /** No valid certificate yet (a new member waiting for the practice, or a bad chain). */
  | { readonly kind: "uncertified"; readonly userId: string; readonly code: ErrorCode | null }
  /** The member has not set up keys yet. */
  | { readonly kind: "no-keys"; readonly userId: string };

/**
 * The error of a peer whose keys failed a check other than "no valid certificate yet" (which
 * is the practice's to fix): their device list rolled back or forked, or a signature is bad.
 * That can be an attack, so pages say it plainly rather than "waiting for the practice".
 */
export function failedCheck(state: PeerState): ErrorCode | null {
  return state.kind === "uncertified" && state.code !== null && state.code !== "E_CERT" ? state.code : null;
}

/** The verifier's view of a directory answer: every certificate and revocation in it. */
export function directoryFrom(practiceId: string, prskPub: Uint8Array, answer: DirectoryAnswer): Directory {
  const certs = [...answer.issuers, ...answer.entries.flatMap((e) => e.certs)];
  const revocations = answer.entries.flatMap((e) => e.revocations);
  return new Directory(practiceId, prskPub, certs, revocations);
}

export interface Evaluation {
  readonly state: PeerState;
  /** The pin to store, or null to leave the stored one as it is. */
  readonly pin: PeerPin | null;
}

/**
 * The pure part of `checkPeer`: what the directory entry means against this device's pin. Only
 * an AIK with a valid chain (not revoked at `now`) is ever pinned or shown.
 */
export async function evaluatePeer(
  pin: PeerPin | undefined,
  entry: DirectoryEntry,
  directory: Directory,
  now: number = Date.now(),
): Promise<Evaluation> {
  const userId = entry.user_id;
  if (entry.aik_pub === null) return { state: { kind: "no-keys", userId }, pin: null };
  let cert: MemberCert;
  let head: { seq: number; hash: string };
  try {
    const aikPub = fromB64url(entry.aik_pub);
    cert = await directory.certifiedAik(userId, b64url(await keyId("ed25519", aikPub)), now);
    head = await deviceHead(pin, entry, aikPub, directory);
  } catch (e) {
    if (e instanceof CryptoError) return { state: { kind: "uncertified", userId, code: e.code }, pin: null };
    throw e;
  }
  if (pin !== undefined && pin.aikPub !== entry.aik_pub) {
    return {
      state: { kind: "changed", userId, aikPub: entry.aik_pub, previousAikPub: pin.aikPub, cert, wasVerified: pin.verified },
      pin: null,
    };
  }
  const verified = pin?.verified ?? false;
  return {
    state: { kind: "pinned", userId, aikPub: entry.aik_pub, cert, verified },
    pin: { userId, aikPub: entry.aik_pub, deviceListSeq: head.seq, deviceListHash: head.hash, verified },
  };
}

/** Checks the peer's device lists against the pinned head (rollback, fork) and returns the new head. */
async function deviceHead(
  pin: PeerPin | undefined,
  entry: DirectoryEntry,
  aikPub: Uint8Array,
  directory: Directory,
): Promise<{ seq: number; hash: string }> {
  if (entry.device_lists.length === 0) return { seq: pin?.deviceListSeq ?? 0, hash: pin?.deviceListHash ?? "" };
  // Every certified AIK of the user may have signed older versions (a recovery changes the AIK).
  const aikPubs = [aikPub, ...(await directory.aikPubs(entry.user_id))];
  const pinned = pin === undefined || pin.deviceListSeq === 0 || pin.deviceListHash === ""
    ? undefined
    : { seq: pin.deviceListSeq, hash: fromB64url(pin.deviceListHash) };
  const h = await acceptDeviceLists(pinned, entry.device_lists, { userId: entry.user_id, aikPubs });
  return { seq: h.seq, hash: b64url(h.hash) };
}

/** Reads the pin, evaluates the entry and stores the new pin (first sight, device-list head). */
export async function checkPeer(session: KeySession, entry: DirectoryEntry, directory: Directory): Promise<PeerState> {
  const device = await session.keystore.getDevice(session.userId);
  const { state, pin } = await evaluatePeer(device?.peers[entry.user_id], entry, directory);
  if (pin !== null && device !== undefined) {
    await session.keystore.updatePins(session.userId, (r) => ({ ...r, peers: { ...r.peers, [pin.userId]: pin } }));
  }
  return state;
}

/** The user saw the change warning: pin the new AIK, not verified. */
export async function acknowledgeChange(session: KeySession, state: Extract<PeerState, { kind: "changed" }>): Promise<PeerState> {
  const stored = await session.keystore.updatePins(session.userId, (r) => {
    const old = r.peers[state.userId];
    const pin: PeerPin = { userId: state.userId, aikPub: state.aikPub, deviceListSeq: old?.deviceListSeq ?? 0, deviceListHash: old?.deviceListHash ?? "", verified: false };
    return { ...r, peers: { ...r.peers, [state.userId]: pin } };
  });
  const pin = stored.peers[state.userId];
  return { kind: "pinned", userId: state.userId, aikPub: pin?.aikPub ?? state.aikPub, cert: state.cert, verified: false };
}

/** Marks the pinned AIK verified (only if it is still the one the user compared). */
export async function markVerified(session: KeySession, userId: string, aikPub: string, verified = true): Promise<boolean> {
  const stored = await session.keystore.updatePins(session.userId, (r) => {
    const old = r.peers[userId];
    if (old?.aikPub !== aikPub) return r;
    return { ...r, peers: { ...r.peers, [userId]: { ...old, verified } } };
  });
  return stored.peers[userId]?.aikPub === aikPub && stored.peers[userId].verified === verified;
}

const REASONS: Record<MemberCert["reason"], string> = {
  recovered: "account recovered by the practice",
  rotated: "keys replaced",
  "role-change": "role changed by the practice",
  enrolled: "new account set up",
};

/** "Dr Rivera's security code changed: account recovered by the practice on 3 May". */
export function changeWarning(name: string, cert: MemberCert, locale?: string): string {
  const date = new Date(cert.valid_from).toLocaleDateString(locale, { day: "numeric", month: "long", year: "numeric" });
  return `${name}'s security code changed: ${REASONS[cert.reason]} on ${date}.`;
}
