// The keys a new account uploads open again the way sign-in opens them: the password wrap with
// the KEK, the bundle with the UK, the device list under the AIK, the dev_wrap with the device
// key; and the escrow is addressed to the config's PRK.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_KDF,
  GENESIS_PREV_HASH,
  acceptDeviceLists,
  acceptPracticeConfigs,
  b64url,
  derivePasswordKeys,
  fromB64url,
  importHkdfKey,
  keyId,
  newUuidV7,
  openBundleEnvelope,
  openDevWrap,
  openPwWrap,
  practiceCeremony,
  signPracticeConfig,
} from "../../crypto";
import { createNewAccount } from "./create";

async function world() {
  const practiceId = newUuidV7();
  const ceremony = await practiceCeremony();
  const config = await signPracticeConfig(ceremony.prsk.pair.privateKey, {
    practice_id: practiceId,
    seq: 1,
    prev_hash: GENESIS_PREV_HASH,
    prsk_pub: b64url(ceremony.prsk.pub),
    prk_pub: b64url(ceremony.prk.pub),
    name: "Harbour Lane",
    policy: {},
  });
  const configHead = await acceptPracticeConfigs(undefined, [config], { practiceId, prskPub: ceremony.prsk.pub });
  return { practiceId, ceremony, config, configHead };
}

describe("createNewAccount", () => {
  it("makes keys that sign-in can open, and remembers the device when asked", async () => {
    const w = await world();
    const userId = newUuidV7();
    const salt = new Uint8Array(16).fill(7);
    const secretKey = new Uint8Array(16).fill(9);
    const pw = await derivePasswordKeys("correct horse battery staple", salt, DEFAULT_KDF, secretKey);
    const created = await createNewAccount({
      userId,
      practiceId: w.practiceId,
      kek: pw.kek,
      salt,
      kdf: DEFAULT_KDF,
      secretKey,
      prskPub: w.ceremony.prsk.pub,
      config: w.config,
      configHead: w.configHead,
      remember: true,
    });
    const { keys, record } = created;

    const uk = await openPwWrap(pw.kek, fromB64url(keys.pw_wrap), userId, salt, DEFAULT_KDF, 1);
    const account = await openBundleEnvelope(await importHkdfKey(uk), keys.bundle);
    expect(b64url(account.aikPub)).toBe(keys.bundle.aik_pub);
    await acceptDeviceLists(undefined, [keys.device_list], { userId, aikPubs: [account.aikPub] });
    expect(keys.device_list.entries.map((e) => e.device_id)).toEqual([created.deviceId]);
    expect(keys.rec_escrow.prk_id).toBe(b64url(await keyId("x25519", w.ceremony.prk.pub)));

    expect(keys.dev_wrap?.device_id).toBe(created.deviceId);
    const viaDevice = await openDevWrap({ pair: record.dkEnc, pub: record.dkEncPub }, userId, created.deviceId, fromB64url(keys.dev_wrap?.ct ?? ""));
    expect(b64url(viaDevice)).toBe(b64url(uk));

    // What the device keeps: non-extractable keys, the Secret Key, the pins.
    expect(record.dkEnc.privateKey.extractable).toBe(false);
    expect(record.secretKey).toEqual(secretKey);
    expect(record.prskPub).toBe(b64url(w.ceremony.prsk.pub));
    expect(record.configHead?.seq).toBe(1);
    expect(record.peers[userId]?.deviceListSeq).toBe(1);
  }, 60_000);

  it("sends no dev_wrap unless asked, and a wrong KEK does not open the wrap", async () => {
    const w = await world();
    const userId = newUuidV7();
    const salt = new Uint8Array(16).fill(1);
    const right = await derivePasswordKeys("one password here", salt, DEFAULT_KDF);
    const wrong = await derivePasswordKeys("another password", salt, DEFAULT_KDF);
    const created = await createNewAccount({
      userId,
      practiceId: w.practiceId,
      kek: right.kek,
      salt,
      kdf: DEFAULT_KDF,
      prskPub: w.ceremony.prsk.pub,
      config: w.config,
      configHead: w.configHead,
      remember: false,
    });
    expect(created.keys.dev_wrap).toBeNull();
    expect(created.record.secretKey).toBeUndefined();
    await expect(openPwWrap(wrong.kek, fromB64url(created.keys.pw_wrap), userId, salt, DEFAULT_KDF, 1)).rejects.toMatchObject({
      code: "E_UNLOCK",
    });
  }, 60_000);
});
