// Getting one's own keys back (crypto-protocol §10): with a remembered device (§10.1: the UK
// comes out of the dev_wrap and is wrapped again under the new password), or with the
// practice's help (§10.2: the AEK arrives sealed to a one-time key T, and everything else is
// new). T, the UK bytes and the AEK bytes live in memory for the call only and are wiped.
import {
  CryptoError,
  acceptDeviceLists,
  acceptPracticeConfigs,
  aekBindEnvelope,
  b64url,
  bundleEnvelope,
  checkKdfParams,
  createAccountKeys,
  deviceRecord,
  fromB64url,
  generateDeviceKeys,
  generateSecretKey,
  keyId,
  newUuidV7,
  openDevWrap,
  openPwWrap,
  openRecoveryTransfer,
  sealDevWrap,
  sealPwWrap,
  signDeviceList,
  type DeviceEntry,
  type DeviceRecord,
  type KdfParams,
  type KeyPairWithPub,
  type Keystore,
} from "../../crypto";
import { changePassword } from "../../api/allauth";
import { confirmPwWrap, fetchAccountKeys, fetchPracticeConfigs, postPendingPwWrap, type AccountKeysIn, type AccountKeysOut } from "../../api/keys";
import { completeRecovery } from "../../api/recovery";
import { deriveKeysWith } from "../unlock";

/** The highest active pw_wrap version: a new wrap takes the next one (it is bound into the AAD). */
export function topPwVer(out: AccountKeysOut): number {
  return Math.max(out.pw_wrap.ver, ...out.older_pw_wraps.map((w) => w.ver));
}

/** This browser's device for the user, if it is remembered (has a dev_wrap on the server). */
export async function rememberedDevice(keystore: Keystore, userId: string, practiceId: string): Promise<{ record: DeviceRecord; out: AccountKeysOut } | null> {
  const record = await keystore.getDevice(userId);
  if (record?.practiceId !== practiceId) return null;
  const out = await fetchAccountKeys(record.deviceId);
  if (out?.dev_wrap === null || out === null) return null;
  return { record, out };
}

/**
 * §10.1: opens the dev_wrap, wraps the same UK under the new password's KEK (same salt, the
 * account's parameters), uploads it as pending, proves it opens and confirms it. The server then
 * clears "keys locked". Returns the KEK proof for the normal unlock that follows.
 */
export async function rewrapFromDevice(
  remembered: { record: DeviceRecord; out: AccountKeysOut },
  password: string,
  secretKey: Uint8Array | undefined,
): Promise<{ kek: CryptoKey; salt: Uint8Array; kdf: KdfParams }> {
  const { record, out } = remembered;
  if (out.dev_wrap === null) throw new CryptoError("E_WRAP", "this device is not remembered");
  const dkEnc: KeyPairWithPub = { pair: record.dkEnc, pub: record.dkEncPub };
  const uk = await openDevWrap(dkEnc, record.userId, record.deviceId, fromB64url(out.dev_wrap));
  try {
    const salt = fromB64url(out.salt);
    const kdf = checkKdfParams(out.kdf);
    const keys = await deriveKeysWith(password, salt, kdf, secretKey);
    const ver = topPwVer(out) + 1;
    const ct = await sealPwWrap(keys.kek, uk, record.userId, salt, kdf, ver);
    await postPendingPwWrap({ ver, kdf, ct: b64url(ct) });
    (await openPwWrap(keys.kek, ct, record.userId, salt, kdf, ver)).fill(0);
    await confirmPwWrap(ver);
    return { kek: keys.kek, salt, kdf };
  } finally {
    uk.fill(0);
  }
}

export interface AssistedResult {
  /** Staff: the new Secret Key, for the Emergency Kit (shown once, kept on this device). */
  readonly secretKey: Uint8Array | null;
  readonly deviceId: string;
  /** The new password's KEK, for the normal unlock that follows. */
  readonly proof: { kek: CryptoKey; salt: Uint8Array; kdf: KdfParams };
}

/**
 * §10.2 step 5: opens the transfer with T, then makes a new UK, AIK, bundle (ver + 1) around the
 * recovered AEK, aek_bind, pw_wrap, rec_escrow, device keys and a device list continuing the old
 * numbering (earlier devices revoked), and for staff a new Secret Key; completes the request and
 * stores this device. Staff then change their login to the new Secret Key (§10.2 step 5).
 */
export async function completeAssisted(opts: {
  keystore: Keystore;
  userId: string;
  practiceId: string;
  staff: boolean;
  requestId: string;
  t: KeyPairWithPub;
  transfer: { ct: string; aek_pub: string };
  password: string;
  /** The Secret Key the current login was derived with, if any (none after "I lost it too"). */
  loginSecretKey: Uint8Array | undefined;
  remember: boolean;
  now?: number;
}): Promise<AssistedResult> {
  const now = opts.now ?? Date.now();
  const out = await fetchAccountKeys();
  if (out === null) throw new CryptoError("E_SCHEMA", "this account has no keys to recover");
  const aekPub = fromB64url(opts.transfer.aek_pub);
  if (opts.transfer.aek_pub !== out.bundle.aek_pub) throw new CryptoError("E_WRAP", "the transfer is for another key");
  const pinned = await opts.keystore.getDevice(opts.userId);
  const configs = await fetchPracticeConfigs(opts.practiceId);
  const first = configs[0];
  if (first === undefined) throw new CryptoError("E_CERT", "the practice has no signed config");
  const prskPub = fromB64url(pinned?.prskPub ?? first.prsk_pub);
  await acceptPracticeConfigs(undefined, configs, { practiceId: opts.practiceId, prskPub });
  const latestConfig = configs[configs.length - 1] ?? first;
  const prkPub = fromB64url(latestConfig.prk_pub);

  const aekPkcs8 = await openRecoveryTransfer(opts.t, opts.practiceId, opts.userId, aekPub, fromB64url(opts.transfer.ct));
  const ver = out.bundle.ver + 1;
  // createAccountKeys wipes the recovered AEK bytes.
  const sealed = await createAccountKeys({ userId: opts.userId, practiceId: opts.practiceId, prkPub, ver, createdAt: now, recoveredAekPkcs8: aekPkcs8 });
  const secretKey = opts.staff ? generateSecretKey() : null;
  try {
    const salt = fromB64url(out.salt);
    const kdf = checkKdfParams(out.kdf);
    const next = await deriveKeysWith(opts.password, salt, kdf, secretKey ?? undefined);
    const pwVer = topPwVer(out) + 1;
    const pwWrap = await sealPwWrap(next.kek, sealed.ukBytes, opts.userId, salt, kdf, pwVer);

    // The device list continues the old numbering under the new AIK; earlier devices are revoked.
    const lastList = out.device_lists[out.device_lists.length - 1];
    if (lastList === undefined) throw new CryptoError("E_CHAIN", "no device list");
    const head = await acceptDeviceLists(undefined, [lastList], { userId: opts.userId, aikPubs: [fromB64url(out.bundle.aik_pub)] });
    const device = await generateDeviceKeys();
    const deviceId = newUuidV7();
    const entries: DeviceEntry[] = [
      ...lastList.entries.map((e) => (e.revoked_at === 0 ? { ...e, revoked_at: now } : e)),
      { device_id: deviceId, dk_sig_pub: b64url(device.dkSig.pub), dk_enc_pub: b64url(device.dkEnc.pub), added_at: now, revoked_at: 0 },
    ];
    const deviceList = await signDeviceList(sealed.account.aik.privateKey, {
      user_id: opts.userId,
      aik_id: b64url(sealed.account.aikId),
      seq: head.seq + 1,
      prev_hash: b64url(head.hash),
      created_at: now,
      entries,
    });
    const devWrap = opts.remember ? { device_id: deviceId, ct: b64url(await sealDevWrap(device.dkEnc.pub, opts.userId, deviceId, sealed.ukBytes)) } : null;
    const keys: AccountKeysIn = {
      kdf,
      pw_wrap: b64url(pwWrap),
      bundle: bundleEnvelope(opts.userId, ver, sealed.account.aikPub, sealed.account.aekPub, sealed.bundle),
      aek_bind: await aekBindEnvelope(sealed.account.aik.privateKey, opts.userId, sealed.account.aekPub, ver, now),
      rec_escrow: { prk_id: b64url(await keyId("x25519", prkPub)), ct: b64url(sealed.recEscrow) },
      device_list: deviceList,
      dev_wrap: devWrap,
    };
    await completeRecovery(opts.requestId, keys);
    await opts.keystore.putDevice(
      deviceRecord(opts.userId, deviceId, opts.practiceId, device, {
        ...(secretKey === null ? {} : { secretKey }),
        prskPub: b64url(prskPub),
      }),
    );

    if (secretKey !== null) {
      // §10.2 step 5: the login moves to the new Secret Key. The server takes a password change
      // only with a pending wrap of this session, so the same UK is wrapped once more.
      const current = await deriveKeysWith(opts.password, salt, kdf, opts.loginSecretKey);
      const ver2 = pwVer + 1;
      const ct2 = await sealPwWrap(next.kek, sealed.ukBytes, opts.userId, salt, kdf, ver2);
      await postPendingPwWrap({ ver: ver2, kdf, ct: b64url(ct2) });
      await changePassword(current.authKey, next.authKey);
      await confirmPwWrap(ver2);
    }
    return { secretKey, deviceId, proof: { kek: next.kek, salt, kdf } };
  } finally {
    sealed.ukBytes.fill(0);
  }
}
