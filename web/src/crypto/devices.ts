/**
 * Devices (spec §5): device keys, `dev_wrap`, and the signed device list with its monotonic
 * `seq` / `prev_hash` chain and rollback/fork detection.
 */
import { fail } from "./errors";
import { checkAdvance, checkGenesis, checkLink, type ChainHead } from "./chain";
import { B, I, L, U, b64url, checkInteger, compareBytes, equalBytes, fromB64urlLen, labeled, parseUuid, uuidToBytes } from "./encoding";
import { generateKeyPair, hpkeOpen, hpkeSeal, keyId, sha256, sign, verify, type KeyPairWithPub } from "./primitives";
import type { Bytes, HpkeWrap, Signature } from "./types";

export interface DeviceKeys {
  readonly dkSig: KeyPairWithPub;
  readonly dkEnc: KeyPairWithPub;
}

/** DK_sig (Ed25519) and DK_enc (X25519), non-extractable pairs, for IndexedDB (§5.1). */
export async function generateDeviceKeys(): Promise<DeviceKeys> {
  return { dkSig: await generateKeyPair("ed25519"), dkEnc: await generateKeyPair("x25519") };
}

// ---- dev_wrap (§5.2) -----------------------------------------------------------------------------

export async function devWrapInfo(userId: string, deviceId: string, dkEncPub: Uint8Array): Promise<Bytes> {
  return labeled("dev-wrap", I(userId), I(deviceId), B(await keyId("x25519", dkEncPub)));
}

/** Seals the UK bytes to this device's DK_enc. */
export async function sealDevWrap(dkEncPub: Uint8Array, userId: string, deviceId: string, uk: Uint8Array): Promise<HpkeWrap> {
  if (uk.length !== 32) fail("E_ENCODING", "UK must be 32 bytes");
  return hpkeSeal(dkEncPub, await devWrapInfo(userId, deviceId, dkEncPub), uk);
}

/** Opens a `dev_wrap` to the UK bytes (wipe them after importing); failure is `E_WRAP`. */
export async function openDevWrap(dkEnc: KeyPairWithPub, userId: string, deviceId: string, wrap: Uint8Array): Promise<Bytes> {
  const uk = await hpkeOpen(dkEnc.pair, await devWrapInfo(userId, deviceId, dkEnc.pub), wrap, "E_WRAP");
  if (uk.length !== 32) fail("E_WRAP", "UK must be 32 bytes");
  return uk;
}

// ---- Signed device list (§5.3) -------------------------------------------------------------------

export interface DeviceEntry {
  readonly device_id: string;
  readonly dk_sig_pub: string;
  readonly dk_enc_pub: string;
  readonly added_at: number;
  /** 0 = not revoked. */
  readonly revoked_at: number;
}

/** The JSON form: the `M` fields plus `sig` (all bytes base64url). */
export interface DeviceList {
  readonly suite: string;
  readonly user_id: string;
  readonly aik_id: string;
  readonly seq: number;
  readonly prev_hash: string;
  readonly created_at: number;
  readonly entries: readonly DeviceEntry[];
  readonly sig: string;
}

export type UnsignedDeviceList = Omit<DeviceList, "sig">;

function entryPiece(e: DeviceEntry): Bytes {
  return L(
    I(e.device_id),
    B(fromB64urlLen(e.dk_sig_pub, 32, "dk_sig_pub")),
    B(fromB64urlLen(e.dk_enc_pub, 32, "dk_enc_pub")),
    U(checkInteger(e.added_at)),
    U(checkInteger(e.revoked_at)),
  );
}

/** Entries must be sorted by device_id bytes and unique (`E_SCHEMA` otherwise). */
export function checkEntriesSorted(entries: readonly DeviceEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const cur = entries[i];
    if (prev === undefined || cur === undefined) continue;
    if (compareBytes(uuidToBytes(prev.device_id), uuidToBytes(cur.device_id)) >= 0) {
      fail("E_SCHEMA", "device list entries must be sorted by device_id and unique");
    }
  }
}

export function sortEntries(entries: readonly DeviceEntry[]): DeviceEntry[] {
  return [...entries].sort((a, b) => compareBytes(uuidToBytes(a.device_id), uuidToBytes(b.device_id)));
}

/** `M_n` (spec §5.3). */
export function deviceListMessage(list: UnsignedDeviceList): Bytes {
  checkEntriesSorted(list.entries);
  return labeled(
    "device-list",
    I(list.user_id),
    B(fromB64urlLen(list.aik_id, 16, "aik_id")),
    U(checkInteger(list.seq)),
    B(fromB64urlLen(list.prev_hash, 32, "prev_hash")),
    U(checkInteger(list.created_at)),
    L(...list.entries.map(entryPiece)),
  );
}

export async function deviceListHash(list: UnsignedDeviceList): Promise<Bytes> {
  return sha256(deviceListMessage(list));
}

export const GENESIS_PREV_HASH = b64url(new Uint8Array(32));

export async function signDeviceList(aik: CryptoKey, list: Omit<UnsignedDeviceList, "suite">): Promise<DeviceList> {
  const entries = sortEntries(list.entries);
  const unsigned: UnsignedDeviceList = { suite: "qr1", ...list, entries };
  const sig = await sign(aik, deviceListMessage(unsigned));
  return { ...unsigned, sig: b64url(sig) };
}

/**
 * Checks the suite (`E_SUITE`), and the signature by the AIK named in `aik_id`, which must be
 * one of `aikPubs` (the user's certified AIKs) (`E_SIG`).
 */
export async function verifyDeviceListSignature(list: DeviceList, aikPubs: Uint8Array | readonly Uint8Array[]): Promise<void> {
  if (list.suite !== "qr1") fail("E_SUITE", "unknown suite");
  parseUuid(list.user_id);
  const want = fromB64urlLen(list.aik_id, 16, "aik_id");
  const keys = aikPubs instanceof Uint8Array ? [aikPubs] : aikPubs;
  const msg = deviceListMessage(list);
  const sig = fromB64urlLen(list.sig, 64, "sig") as Signature;
  for (const pub of keys) {
    if (equalBytes(await keyId("ed25519", pub), want)) {
      await verify(pub, sig, msg);
      return;
    }
  }
  fail("E_SIG", "device list signed by an unknown AIK");
}

/**
 * Entry rules between consecutive versions: entries are never removed, device keys and
 * `added_at` never change, and a revoked entry stays revoked with the same `revoked_at`
 * (`E_CHAIN`).
 */
export function checkEntryRules(prev: UnsignedDeviceList, next: UnsignedDeviceList): void {
  const nextById = new Map(next.entries.map((e) => [e.device_id, e]));
  for (const old of prev.entries) {
    const cur = nextById.get(old.device_id);
    if (cur === undefined) fail("E_CHAIN", "a device entry was removed");
    if (cur.dk_sig_pub !== old.dk_sig_pub || cur.dk_enc_pub !== old.dk_enc_pub || cur.added_at !== old.added_at) {
      fail("E_CHAIN", "a device entry was changed");
    }
    if (old.revoked_at !== 0 && cur.revoked_at !== old.revoked_at) fail("E_CHAIN", "a revoked device was un-revoked");
  }
}

/** Server-style successor check of one new list against the previous one (signature is separate). */
export async function checkDeviceListSuccessor(prev: UnsignedDeviceList, next: UnsignedDeviceList): Promise<void> {
  if (next.user_id !== prev.user_id) fail("E_CHAIN", "device list for another user");
  await checkLink(prev, next, deviceListMessage);
  checkEntryRules(prev, next);
}

/**
 * Client side (§5.3): verifies every version's signature with one of the user's certified AIKs
 * (`E_SIG`), the entry rules between consecutive versions, and the chain against the pin
 * (`E_ROLLBACK`, `E_CHAIN`). `versions` are oldest first; when the newest jumps ahead of the pin,
 * every intermediate version must be present. Returns the head to pin.
 */
export async function acceptDeviceLists(
  pinned: ChainHead | undefined,
  versions: readonly DeviceList[],
  opts: { userId: string; aikPubs: readonly Uint8Array[] },
): Promise<ChainHead> {
  for (const v of versions) {
    if (v.user_id !== opts.userId) fail("E_CHAIN", "device list for another user");
    await verifyDeviceListSignature(v, opts.aikPubs);
  }
  for (let i = 1; i < versions.length; i++) {
    const a = versions[i - 1];
    const b = versions[i];
    if (a !== undefined && b !== undefined) checkEntryRules(a, b);
  }
  const first = versions[0];
  if (pinned === undefined && first !== undefined && first.seq === 1) checkGenesis(first);
  return checkAdvance(pinned, versions, deviceListMessage);
}

/** The device entry a WebRTC statement or a dev_wrap refers to, if present and not revoked. */
export function activeDevice(list: DeviceList, deviceId: string): DeviceEntry | undefined {
  return list.entries.find((e) => e.device_id === deviceId && e.revoked_at === 0);
}
