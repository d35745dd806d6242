import { describe, expect, it } from "vitest";
import { parseUnlockReply, parseUnlockRequest } from "./unlockMessages";

async function aesKey(extractable: boolean): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, extractable, ["encrypt", "decrypt"]);
}

const AUTH_KEY = "A".repeat(43);

describe("unlock worker messages", () => {
  it("accepts a reply whose KEK cannot be exported", async () => {
    const kek = await aesKey(false);
    expect(parseUnlockReply({ ok: true, authKey: AUTH_KEY, kek })).toEqual({ ok: true, authKey: AUTH_KEY, kek });
  });

  it("refuses an extractable KEK, a missing one and a malformed authKey", async () => {
    expect(parseUnlockReply({ ok: true, authKey: AUTH_KEY, kek: await aesKey(true) })).toBeNull();
    expect(parseUnlockReply({ ok: true, authKey: AUTH_KEY })).toBeNull();
    expect(parseUnlockReply({ ok: true, authKey: "short", kek: await aesKey(false) })).toBeNull();
  });

  it("passes error codes and refuses unknown ones", () => {
    expect(parseUnlockReply({ ok: false, code: "E_KDF_PARAMS" })).toEqual({ ok: false, code: "E_KDF_PARAMS" });
    expect(parseUnlockReply({ ok: false, code: "E_NOPE" })).toBeNull();
  });

  it("checks requests", () => {
    const kdf = { alg: "argon2id", m: 65536, t: 3, p: 1 } as const;
    expect(parseUnlockRequest({ password: "x", salt: new Uint8Array(16), kdf })).not.toBeNull();
    expect(parseUnlockRequest({ password: "x", salt: "salt", kdf })).toBeNull();
  });
});
