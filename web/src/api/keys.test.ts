// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { SIGNED_OUT_EVENT } from "./client";
import { fetchAccountKeys, fetchDeviceLists } from "./keys";

function answer(status: number, body: unknown): void {
  vi.stubGlobal(
    "fetch",
    vi.fn(() => Promise.resolve(new Response(body === undefined ? null : JSON.stringify(body), { status }))),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const B64 = "AAAA";
const KDF = { alg: "argon2id", m: 65536, t: 3, p: 1 };
const USER = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const keysOut = {
  user_id: USER,
  practice_id: USER,
  salt: "A".repeat(22),
  kdf: KDF,
  pw_wrap: { ver: 1, ct: B64, kdf: KDF, confirmed: true },
  older_pw_wraps: [],
  bundle: { suite: "qr1", user_id: USER, ver: 1, aik_pub: B64, aek_pub: B64, aik: B64, aek: B64 },
  aek_binds: [],
  keys_locked: false,
  device_lists: [],
  dev_wrap: null,
  prsk_wrap: null,
};

describe("keys API", () => {
  it("reads keys, and no keys yet as null", async () => {
    answer(200, keysOut);
    await expect(fetchAccountKeys(USER)).resolves.toMatchObject({ user_id: USER });
    answer(404, { error: { code: "not_found", message: "Nothing was found here." } });
    await expect(fetchAccountKeys()).resolves.toBeNull();
  });

  it("refuses answers with unknown or missing fields", async () => {
    answer(200, { ...keysOut, extra: 1 });
    await expect(fetchAccountKeys()).rejects.toMatchObject({ code: "invalid_response" });
    const { dev_wrap: _dropped, ...missing } = keysOut;
    answer(200, missing);
    await expect(fetchAccountKeys()).rejects.toMatchObject({ code: "invalid_response" });
    answer(200, { lists: [{ suite: "qr1" }] });
    await expect(fetchDeviceLists()).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("tells the key session when the server says nobody is signed in", async () => {
    const heard = vi.fn();
    window.addEventListener(SIGNED_OUT_EVENT, heard);
    answer(401, { error: { code: "session_expired", message: "Sign in again." } });
    await expect(fetchAccountKeys()).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledOnce();
    window.removeEventListener(SIGNED_OUT_EVENT, heard);
  });
});

describe("a request for a fresh password proof", () => {
  it("does not lock the keys", async () => {
    const heard = vi.fn();
    window.addEventListener(SIGNED_OUT_EVENT, heard);
    answer(401, { error: { code: "reauthentication_required", message: "Confirm it's you." }, flows: [] });
    await expect(fetchAccountKeys()).rejects.toMatchObject({ status: 401, code: "reauthentication_required" });
    expect(heard).not.toHaveBeenCalled();
    window.removeEventListener(SIGNED_OUT_EVENT, heard);
  });
});
