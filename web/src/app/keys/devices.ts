// This account's devices, from its signed device lists (crypto-protocol §5.3, §5.4): which
// exist, which is this browser, and revoking another one by signing the next list with its
// `revoked_at` set (the server then deletes its dev_wrap in the same transaction).
import { CryptoError, acceptDeviceLists, b64url, fromB64url, signDeviceList, type ChainHead, type DeviceList } from "../../crypto";
import { fetchAccountKeys, fetchDeviceLists, publishDeviceList } from "../../api/keys";
import { selfPin } from "./create";
import type { KeySession } from "./types";

export interface DeviceView {
  readonly deviceId: string;
  readonly addedAt: number;
  readonly revokedAt: number;
  readonly thisDevice: boolean;
}

export interface Devices {
  readonly devices: DeviceView[];
  /** Whether this browser is remembered (has a dev_wrap). */
  readonly remembered: boolean;
}

async function verifiedLists(session: KeySession): Promise<{ lists: DeviceList[]; head: ChainHead }> {
  const all = await fetchDeviceLists();
  const aikId = b64url(session.account.aikId);
  const own = all.filter((l) => l.aik_id === aikId);
  const record = await session.keystore.getDevice(session.userId);
  const pin = record?.peers[session.userId];
  const pinned =
    pin !== undefined && pin.aikPub === b64url(session.account.aikPub)
      ? { seq: pin.deviceListSeq, hash: fromB64url(pin.deviceListHash) }
      : undefined;
  const versions = pinned === undefined ? own : own.filter((l) => l.seq >= pinned.seq);
  const head = await acceptDeviceLists(pinned, versions, { userId: session.userId, aikPubs: [session.account.aikPub] });
  return { lists: own, head };
}

async function savePin(session: KeySession, head: ChainHead): Promise<void> {
  await session.keystore.updatePins(session.userId, (r) => ({
    ...r,
    peers: { ...r.peers, [session.userId]: selfPin(session.userId, session.account.aikPub, head) },
  }));
}

export async function listDevices(session: KeySession): Promise<Devices> {
  const [{ lists, head }, keys] = await Promise.all([verifiedLists(session), fetchAccountKeys(session.deviceId)]);
  await savePin(session, head);
  const latest = lists[lists.length - 1];
  const devices = (latest?.entries ?? [])
    .map((e) => ({ deviceId: e.device_id, addedAt: e.added_at, revokedAt: e.revoked_at, thisDevice: e.device_id === session.deviceId }))
    .sort((a, b) => b.addedAt - a.addedAt);
  return { devices, remembered: keys?.dev_wrap != null };
}

export async function revokeDevice(session: KeySession, deviceId: string): Promise<void> {
  if (deviceId === session.deviceId) throw new CryptoError("E_SCHEMA", "use sign-out to leave this device");
  const { lists, head } = await verifiedLists(session);
  const latest = lists[lists.length - 1];
  if (latest === undefined || !latest.entries.some((e) => e.device_id === deviceId && e.revoked_at === 0)) {
    throw new CryptoError("E_SCHEMA", "no such active device");
  }
  const now = Date.now();
  const next = await signDeviceList(session.account.aik.privateKey, {
    user_id: session.userId,
    aik_id: b64url(session.account.aikId),
    seq: head.seq + 1,
    prev_hash: b64url(head.hash),
    created_at: now,
    entries: latest.entries.map((e) => (e.device_id === deviceId ? { ...e, revoked_at: now } : e)),
  });
  await publishDeviceList(next, null);
  await savePin(session, await acceptDeviceLists(head, [next], { userId: session.userId, aikPubs: [session.account.aikPub] }));
}
