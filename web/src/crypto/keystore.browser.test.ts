import { describe, expect, test } from "vitest";
import { Keystore, deviceRecord } from "./keystore";
import { generateDeviceKeys } from "./devices";
import { generateSecretKey } from "./password";
import { newUuidV7 } from "./encoding";
import { sign, verify } from "./primitives";
import { openDevWrap, sealDevWrap } from "./devices";

describe("keystore (IndexedDB, Chromium)", () => {
  test("runs in a secure context with WebCrypto Ed25519 and X25519", async () => {
    expect(isSecureContext).toBe(true);
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  });

  test("non-extractable device key pairs survive a reopen and still work", async () => {
    const dbName = `qr-test-${newUuidV7()}`;
    const userId = newUuidV7();
    const deviceId = newUuidV7();
    const keys = await generateDeviceKeys();
    const sk = generateSecretKey();
    const ks = await Keystore.open(dbName);
    await ks.putDevice(deviceRecord(userId, deviceId, newUuidV7(), keys, { secretKey: sk }));
    ks.close();

    const again = await Keystore.open(dbName);
    const rec = await again.getDevice(userId);
    expect(rec?.deviceId).toBe(deviceId);
    if (rec === undefined) throw new Error("record missing");
    expect(rec.dkSig.privateKey.extractable).toBe(false);
    expect(rec.dkEnc.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("pkcs8", rec.dkSig.privateKey)).rejects.toThrow();
    await expect(crypto.subtle.exportKey("pkcs8", rec.dkEnc.privateKey)).rejects.toThrow();
    const msg = new Uint8Array([1, 2, 3]);
    await verify(rec.dkSigPub, await sign(rec.dkSig.privateKey, msg), msg);
    const uk = crypto.getRandomValues(new Uint8Array(32));
    const wrap = await sealDevWrap(rec.dkEncPub, userId, deviceId, uk);
    expect(await openDevWrap({ pair: rec.dkEnc, pub: rec.dkEncPub }, userId, deviceId, wrap)).toEqual(uk);
    expect(rec.secretKey).toEqual(sk);
    const updated = await again.updatePins(userId, (r) => ({ ...r, prskPub: "pinned" }));
    expect(updated.prskPub).toBe("pinned");
    expect(await again.listUsers()).toEqual([userId]);
    await again.deleteDevice(userId);
    expect(await again.getDevice(userId)).toBeUndefined();
    again.close();
  });

  test("refuses extractable private keys", async () => {
    const ks = await Keystore.open(`qr-test-${newUuidV7()}`);
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
    const keys = await generateDeviceKeys();
    const bad = { ...deviceRecord(newUuidV7(), newUuidV7(), newUuidV7(), keys), dkSig: pair };
    await expect(ks.putDevice(bad)).rejects.toThrow(/E_SCHEMA/);
    ks.close();
  });
});
