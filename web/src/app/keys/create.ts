// A new account's keys, made in this browser (crypto-protocol §4, §5): UK, AIK and AEK with the
// bundle, the password wrap, the PRK escrow and `aek_bind`, this browser's device keys and the
// first signed device list, and (when the person asks) a `dev_wrap` that remembers the device.
// Used by practice set-up, joining from an invitation, and sign-in when keys are missing.
import {
  GENESIS_PREV_HASH,
  acceptDeviceLists,
  aekBindEnvelope,
  b64url,
  bundleEnvelope,
  createAccountKeys,
  deviceRecord,
  fromB64url,
  generateDeviceKeys,
  keyId,
  newUuidV7,
  sealDevWrap,
  sealPwWrap,
  signDeviceList,
  type ChainHead,
  type DeviceList,
  type DeviceRecord,
  type KdfParams,
  type PracticeConfig,
  type UnlockedAccount,
} from "../../crypto";
import type { AccountKeysIn } from "../../api/keys";

export interface NewAccountInput {
  readonly userId: string;
  readonly practiceId: string;
  /** The KEK from the password (and the staff Secret Key), with the salt and parameters it used. */
  readonly kek: CryptoKey;
  readonly salt: Uint8Array;
  readonly kdf: KdfParams;
  /** Staff only; stored with the device (§3.3), never sent. */
  readonly secretKey?: Uint8Array;
  /** The pinned PRSK and the verified current config (its PRK gets the escrow). */
  readonly prskPub: Uint8Array;
  readonly config: PracticeConfig;
  readonly configHead: ChainHead;
  readonly remember: boolean;
}

export interface NewAccount {
  /** The body for `PUT /api/keys/account` (or the set-up call's `keys`). */
  readonly keys: AccountKeysIn;
  readonly account: UnlockedAccount;
  readonly deviceId: string;
  /** Save with `Keystore.putDevice` once the server has stored the keys. */
  readonly record: DeviceRecord;
}

/** The pin of one's own device list, kept beside the peers' pins (`peers[userId]`). */
export function selfPin(userId: string, aikPub: Uint8Array, head: ChainHead): DeviceRecord["peers"][string] {
  return { userId, aikPub: b64url(aikPub), deviceListSeq: head.seq, deviceListHash: b64url(head.hash), verified: true };
}

export async function createNewAccount(input: NewAccountInput): Promise<NewAccount> {
  const { userId, practiceId } = input;
  const prkPub = fromB64url(input.config.prk_pub);
  const now = Date.now();
  const sealed = await createAccountKeys({ userId, practiceId, prkPub, createdAt: now });
  try {
    const { account } = sealed;
    const pwWrap = await sealPwWrap(input.kek, sealed.ukBytes, userId, input.salt, input.kdf, 1);
    const device = await generateDeviceKeys();
    const deviceId = newUuidV7();
    const deviceList: DeviceList = await signDeviceList(account.aik.privateKey, {
      user_id: userId,
      aik_id: b64url(account.aikId),
      seq: 1,
      prev_hash: GENESIS_PREV_HASH,
      created_at: now,
      entries: [
        { device_id: deviceId, dk_sig_pub: b64url(device.dkSig.pub), dk_enc_pub: b64url(device.dkEnc.pub), added_at: now, revoked_at: 0 },
      ],
    });
    const devWrap = input.remember
      ? { device_id: deviceId, ct: b64url(await sealDevWrap(device.dkEnc.pub, userId, deviceId, sealed.ukBytes)) }
      : null;
    const keys: AccountKeysIn = {
      kdf: input.kdf,
      pw_wrap: b64url(pwWrap),
      bundle: bundleEnvelope(userId, 1, account.aikPub, account.aekPub, sealed.bundle),
      aek_bind: await aekBindEnvelope(account.aik.privateKey, userId, account.aekPub, 1, now),
      rec_escrow: { prk_id: b64url(await keyId("x25519", prkPub)), ct: b64url(sealed.recEscrow) },
      device_list: deviceList,
      dev_wrap: devWrap,
    };
    const head = await acceptDeviceLists(undefined, [deviceList], { userId, aikPubs: [account.aikPub] });
    const base = deviceRecord(userId, deviceId, practiceId, device, {
      ...(input.secretKey === undefined ? {} : { secretKey: Uint8Array.from(input.secretKey) }),
      prskPub: b64url(input.prskPub),
    });
    const record: DeviceRecord = {
      ...base,
      configHead: { seq: input.configHead.seq, hash: b64url(input.configHead.hash) },
      peers: { [userId]: selfPin(userId, account.aikPub, head) },
    };
    return { keys, account, deviceId, record };
  } finally {
    sealed.ukBytes.fill(0);
  }
}
