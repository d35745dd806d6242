// Unlocking a signed-in account in this browser (crypto-protocol §4–§6.4, §9.1 step 5):
// the UK from this device's `dev_wrap` (no password needed, so passkey sign-in works too) or
// from `pw_wrap` with the KEK; then the bundle, the own device-list chain, the practice's pinned
// signing key and configs, and for owners and admins the PRSK. A browser with no device for the
// account registers one (next signed list). An account with no keys yet gets them now.
import {
  CryptoError,
  acceptDeviceLists,
  acceptPracticeConfigs,
  activeDevice,
  b64url,
  checkKdfParams,
  fromB64url,
  generateDeviceKeys,
  importHkdfKey,
  newUuidV7,
  openBundleEnvelope,
  openDevWrap,
  openPrskWrap,
  openPwWrap,
  sealDevWrap,
  signDeviceList,
  deviceRecord,
  type Bytes,
  type ChainHead,
  type DeviceList,
  type DeviceRecord,
  type KdfParams,
  type PracticeConfig,
  type UnlockedAccount,
} from "../../crypto";
import { Keystore } from "../../crypto";
import {
  confirmPwWrap,
  fetchAccountKeys,
  fetchPracticeConfigs,
  publishDeviceList,
  putAccountKeys,
  putDevWrap,
  type AccountKeysOut,
} from "../../api/keys";
import { ApiError } from "../../api/client";
import type { AccountInfo } from "./account";
import { createNewAccount, selfPin } from "./create";
import type { KeySession } from "./types";

/** The KEK a password derivation gave, with what it used (they are bound into `pw_wrap`). */
export interface PasswordProof {
  readonly kek: CryptoKey;
  readonly salt: Uint8Array;
  readonly kdf: KdfParams;
}

export interface UnlockOptions {
  readonly info: AccountInfo;
  readonly password?: PasswordProof;
  /** Staff: the Secret Key the derivation used (typed, or from this device). */
  readonly secretKey?: Uint8Array;
  /** "Remember this device": true seals a dev_wrap if there is none; otherwise nothing changes. */
  readonly remember?: boolean;
}

export type UnlockOutcome =
  | { kind: "unlocked"; session: KeySession }
  /** Reset by email: the keys wait for recovery (§10). */
  | { kind: "locked" }
  /** No remembered device here: the password (and for staff the Secret Key) is needed. */
  | { kind: "needs-password" };

let keystorePromise: Promise<Keystore> | null = null;

/** The one keystore connection of this tab. */
export function openKeystore(): Promise<Keystore> {
  keystorePromise ??= Keystore.open().catch((error: unknown) => {
    keystorePromise = null;
    throw error;
  });
  return keystorePromise;
}

const PRIVILEGED: ReadonlySet<string> = new Set(["owner", "admin"]);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameKdf(a: KdfParams, b: KdfParams): boolean {
  return a.m === b.m && a.t === b.t && a.p === b.p;
}

/** Pins the PRSK on first use and checks the configs' chain against the pinned head (§6.4). */
async function pinPractice(
  info: AccountInfo,
  record: DeviceRecord | undefined,
  configs: readonly PracticeConfig[] | null,
): Promise<{ prskPub: Uint8Array; head: ChainHead | undefined; current: PracticeConfig | undefined }> {
  const pinned = record?.prskPub;
  if (configs === null) {
    if (pinned === undefined) throw new CryptoError("E_CERT", "the practice's signing key could not be read");
    return { prskPub: fromB64url(pinned), head: undefined, current: undefined };
  }
  const first = configs[0];
  if (first === undefined) throw new CryptoError("E_CERT", "the practice has no signed config");
  const prskPub = fromB64url(pinned ?? first.prsk_pub);
  const pinnedHead = record?.configHead === undefined ? undefined : { seq: record.configHead.seq, hash: fromB64url(record.configHead.hash) };
  // Only the versions from the pinned one on are checked against the pin (older ones were before).
  const versions = pinnedHead === undefined ? configs : configs.filter((c) => c.seq >= pinnedHead.seq);
  const head = await acceptPracticeConfigs(pinnedHead, versions, { practiceId: info.practiceId, prskPub });
  return { prskPub, head, current: configs[configs.length - 1] };
}

async function readConfigs(practiceId: string): Promise<PracticeConfig[] | null> {
  try {
    return await fetchPracticeConfigs(practiceId);
  } catch (error) {
    // Staff before two-step enrolment are kept from the directory; the pin on this device
    // still holds, and the configs are checked at the next unlock.
    if (error instanceof ApiError && error.status === 403) return null;
    throw error;
  }
}

/** Own device lists: signatures by the current AIK and the chain against this device's pin. */
async function checkOwnDevices(
  userId: string,
  account: UnlockedAccount,
  lists: readonly DeviceList[],
  record: DeviceRecord | undefined,
): Promise<ChainHead> {
  const aikId = b64url(account.aikId);
  // After a recovery the older versions are signed by an earlier AIK (§5.3): check from the
  // first version under the current one, which continues the same numbering.
  let start = lists.length;
  while (start > 0 && lists[start - 1]?.aik_id === aikId) start -= 1;
  const own = lists.slice(start);
  if (own.length === 0) throw new CryptoError("E_SIG", "no device list signed by this account's key");
  const pin = record?.peers[userId];
  const pinned =
    pin !== undefined && pin.aikPub === b64url(account.aikPub) && own[0] !== undefined && own[0].seq <= pin.deviceListSeq
      ? { seq: pin.deviceListSeq, hash: fromB64url(pin.deviceListHash) }
      : undefined;
  const versions = pinned === undefined ? own : own.filter((l) => l.seq >= pinned.seq);
  return acceptDeviceLists(pinned, versions, { userId, aikPubs: [account.aikPub] });
}

async function openUk(
  out: AccountKeysOut,
  info: AccountInfo,
  record: DeviceRecord | undefined,
  password: PasswordProof | undefined,
): Promise<{ uk: Bytes; openedVer: number | null } | null> {
  // With a password, the password wrap answers (so a wrong one is always refused); without
  // one, a remembered device's dev_wrap opens the UK (§5.2: reloads, passkey sign-in).
  if (password === undefined && out.dev_wrap !== null && record !== undefined) {
    const uk = await openDevWrap({ pair: record.dkEnc, pub: record.dkEncPub }, info.userId, record.deviceId, fromB64url(out.dev_wrap));
    return { uk, openedVer: null };
  }
  if (password === undefined) return null;
  if (!sameBytes(password.salt, fromB64url(out.salt))) throw new CryptoError("E_UNLOCK", "wrong password or Secret Key");
  const candidates = [out.pw_wrap, ...out.older_pw_wraps];
  for (const wrap of candidates) {
    const kdf = checkKdfParams(wrap.kdf);
    if (!sameKdf(kdf, password.kdf)) continue;
    try {
      const uk = await openPwWrap(password.kek, fromB64url(wrap.ct), info.userId, password.salt, kdf, wrap.ver);
      return { uk, openedVer: wrap === out.pw_wrap ? wrap.ver : null };
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
    }
  }
  throw new CryptoError("E_UNLOCK", "wrong password or Secret Key");
}

async function createNow(
  keystore: Keystore,
  options: UnlockOptions,
  record: DeviceRecord | undefined,
): Promise<UnlockOutcome> {
  const { info, password } = options;
  if (password === undefined) return { kind: "needs-password" };
  const configs = await fetchPracticeConfigs(info.practiceId);
  const { prskPub, head, current } = await pinPractice(info, record, configs);
  if (head === undefined || current === undefined) throw new CryptoError("E_CERT", "the practice has no signed config");
  const created = await createNewAccount({
    userId: info.userId,
    practiceId: info.practiceId,
    kek: password.kek,
    salt: password.salt,
    kdf: password.kdf,
    ...(options.secretKey === undefined ? {} : { secretKey: options.secretKey }),
    prskPub,
    config: current,
    configHead: head,
    remember: options.remember ?? false,
  });
  await putAccountKeys(created.keys);
  await keystore.putDevice(created.record);
  return {
    kind: "unlocked",
    session: {
      userId: info.userId,
      practiceId: info.practiceId,
      role: info.role,
      deviceId: created.deviceId,
      account: created.account,
      keystore,
      prskPub,
      prsk: null, // a new owner's or admin's PRSK wrap comes with their certificate
    },
  };
}

/** Unlocks the signed-in account. Throws CryptoError (E_UNLOCK for a wrong password or Secret
 * Key; others for a failed check, which must be shown) or ApiError. */
export async function unlockAccount(options: UnlockOptions): Promise<UnlockOutcome> {
  const { info } = options;
  if (info.keys === "locked") return { kind: "locked" };
  const keystore = await openKeystore();
  let record = await keystore.getDevice(info.userId);
  if (record !== undefined && record.practiceId !== info.practiceId) record = undefined;
  const out = await fetchAccountKeys(record?.deviceId);
  if (out === null) return createNow(keystore, options, record);
  if (out.user_id !== info.userId || out.practice_id !== info.practiceId || out.bundle.user_id !== info.userId) {
    throw new CryptoError("E_SCHEMA", "the server sent keys of another account");
  }
  if (out.keys_locked) return { kind: "locked" };

  const opened = await openUk(out, info, record, options.password);
  if (opened === null) return { kind: "needs-password" };
  const ukBytes = opened.uk;
  try {
    const account = await openBundleEnvelope(await importHkdfKey(ukBytes), out.bundle);
    const practice = await pinPractice(info, record, await readConfigs(info.practiceId));
    const ownHead = await checkOwnDevices(info.userId, account, out.device_lists, record);
    const latest = out.device_lists[out.device_lists.length - 1];
    if (latest === undefined) throw new CryptoError("E_CHAIN", "no device list");

    let deviceId: string;
    let head = ownHead;
    const secretKey = options.secretKey ?? record?.secretKey;
    if (record === undefined || activeDevice(latest, record.deviceId) === undefined) {
      // A new device for this account: the next signed list, and its dev_wrap if asked (§5.2, §5.3).
      const device = await generateDeviceKeys();
      deviceId = newUuidV7();
      const now = Date.now();
      const next = await signDeviceList(account.aik.privateKey, {
        user_id: info.userId,
        aik_id: b64url(account.aikId),
        seq: ownHead.seq + 1,
        prev_hash: b64url(ownHead.hash),
        created_at: now,
        entries: [
          ...latest.entries,
          { device_id: deviceId, dk_sig_pub: b64url(device.dkSig.pub), dk_enc_pub: b64url(device.dkEnc.pub), added_at: now, revoked_at: 0 },
        ],
      });
      const devWrap =
        options.remember === true
          ? { device_id: deviceId, ct: b64url(await sealDevWrap(device.dkEnc.pub, info.userId, deviceId, ukBytes)) }
          : null;
      await publishDeviceList(next, devWrap);
      head = await acceptDeviceLists(ownHead, [next], { userId: info.userId, aikPubs: [account.aikPub] });
      if (record !== undefined) await keystore.deleteDevice(info.userId);
      record = deviceRecord(info.userId, deviceId, info.practiceId, device, {
        ...(secretKey === undefined || !info.staff ? {} : { secretKey: Uint8Array.from(secretKey) }),
      });
      await keystore.putDevice(record);
    } else {
      deviceId = record.deviceId;
      // Unticked leaves a remembered device remembered: forgetting is on the security page.
      if (options.remember === true && out.dev_wrap === null) {
        await putDevWrap(deviceId, b64url(await sealDevWrap(record.dkEncPub, info.userId, deviceId, ukBytes)));
      }
    }
    const stored = await keystore.updatePins(info.userId, (r) => ({
      ...r,
      ...(info.staff && secretKey !== undefined && r.secretKey === undefined ? { secretKey: Uint8Array.from(secretKey) } : {}),
      prskPub: b64url(practice.prskPub),
      ...(practice.head === undefined ? {} : { configHead: { seq: practice.head.seq, hash: b64url(practice.head.hash) } }),
      peers: { ...r.peers, [info.userId]: selfPin(info.userId, account.aikPub, head) },
    }));

    // §9.1 step 5: a wrap this browser just opened but the server has not seen confirmed.
    if (opened.openedVer !== null && !out.pw_wrap.confirmed) await confirmPwWrap(opened.openedVer);

    const prsk =
      PRIVILEGED.has(info.role) && out.prsk_wrap !== null
        ? await openPrskWrap(account.aek, account.aekPub, info.practiceId, info.userId, practice.prskPub, fromB64url(out.prsk_wrap))
        : null;
    return {
      kind: "unlocked",
      session: { userId: info.userId, practiceId: info.practiceId, role: info.role, deviceId: stored.deviceId, account, keystore, prskPub: practice.prskPub, prsk },
    };
  } finally {
    ukBytes.fill(0);
  }
}
