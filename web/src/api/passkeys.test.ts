// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { passkeyProblem, signInWithPasskey } from "../app/passkeyLogin";
import { addPasskey, listPasskeys, passkeySignIn, removePasskey } from "./passkeys";

const USER = { id: "9850784d-26f7-4e51-8432-5f6b324462ea", display: "Sam", email: "sam@example.test", has_usable_password: true };
const SIGNED_IN = {
  status: 200,
  data: { user: USER, methods: [{ method: "mfa", at: 1795580850.57, id: 3, type: "webauthn", passwordless: true }] },
  meta: { is_authenticated: true },
};
const REQUEST_OPTIONS = {
  status: 200,
  data: { request_options: { publicKey: { challenge: "QF0tpROaZNgXcSs5BPhSr4YlpR-D_LbrekkykSyKolI", rpId: "localhost", allowCredentials: [], userVerification: "required" } } },
};
const CREATION_OPTIONS = {
  status: 200,
  data: {
    creation_options: {
      publicKey: {
        rp: { name: "localhost", id: "localhost" },
        user: { name: "sam@example.test", id: "YWJj", displayName: "Sam" },
        challenge: "rKelnSZMMxsSf6evG4zZyrxGURhpaLu-4PmEgXnQzRQ",
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        excludeCredentials: [],
        authenticatorSelection: { residentKey: "required", userVerification: "required", requireResidentKey: true },
        extensions: { credProps: true },
      },
    },
  },
};
const PASSKEY = { type: "webauthn", id: 3, name: "Work laptop", created_at: 1795580850, last_used_at: null, is_passwordless: true };
const REAUTH = {
  status: 401,
  data: { user: USER, methods: [], flows: [{ id: "reauthenticate" }, { id: "mfa_reauthenticate", types: ["webauthn"] }] },
  meta: { is_authenticated: true },
};
const CREDENTIAL_JSON = { id: "cred", rawId: "cred", type: "public-key", response: {}, clientExtensionResults: {} };

let calls: { url: string; init: RequestInit | undefined }[] = [];

function answer(...replies: [number, unknown][]): void {
  calls = [];
  const queue = [...replies];
  vi.stubGlobal(
    "fetch",
    vi.fn((url: string, init?: RequestInit) => {
      calls.push({ url, init });
      const [status, body] = queue.shift() ?? [500, {}];
      return Promise.resolve(new Response(JSON.stringify(body), { status }));
    }),
  );
}

class FakeCredential {
  toJSON(): unknown {
    return CREDENTIAL_JSON;
  }
  static parseCreationOptionsFromJSON = vi.fn((json: unknown) => ({ parsed: json }));
  static parseRequestOptionsFromJSON = vi.fn((json: unknown) => ({ parsed: json }));
}

let create: ReturnType<typeof vi.fn>;
let get: ReturnType<typeof vi.fn>;

beforeEach(() => {
  document.cookie = "qr-csrf=token123";
  vi.stubGlobal("PublicKeyCredential", FakeCredential);
  create = vi.fn(() => Promise.resolve(new FakeCredential()));
  get = vi.fn(() => Promise.resolve(new FakeCredential()));
  Object.defineProperty(navigator, "credentials", { value: { create, get }, configurable: true });
});

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "qr-csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

function posted(index: number): unknown {
  const body = calls[index]?.init?.body;
  return typeof body === "string" ? JSON.parse(body) : undefined;
}

describe("passkey sign-in", () => {
  it("asks for options, lets the browser sign them, and posts the answer with the CSRF token", async () => {
    answer([200, REQUEST_OPTIONS], [200, SIGNED_IN]);
    await expect(passkeySignIn()).resolves.toEqual({ kind: "signed-in", user: USER });
    expect(calls.map((c) => [c.init?.method, c.url])).toEqual([
      ["GET", "/_allauth/browser/v1/auth/webauthn/login"],
      ["POST", "/_allauth/browser/v1/auth/webauthn/login"],
    ]);
    expect(FakeCredential.parseRequestOptionsFromJSON).toHaveBeenCalledWith(REQUEST_OPTIONS.data.request_options.publicKey);
    expect(get).toHaveBeenCalledOnce();
    expect(posted(1)).toEqual({ credential: CREDENTIAL_JSON });
    expect(new Headers(calls[1]?.init?.headers).get("X-CSRFToken")).toBe("token123");
  });

  it("reports an unknown passkey as rejected", async () => {
    answer([200, REQUEST_OPTIONS], [400, { status: 400, errors: [{ code: "incorrect_code", message: "Incorrect code." }] }]);
    await expect(passkeySignIn()).resolves.toEqual({ kind: "rejected", code: "incorrect_code" });
  });

  it("refuses malformed options before the browser is asked anything", async () => {
    answer([200, { status: 200, data: { request_options: { publicKey: { rpId: "localhost" } } } }]);
    await expect(passkeySignIn()).rejects.toMatchObject({ code: "invalid_response" });
    expect(get).not.toHaveBeenCalled();
  });

  it("turns a dismissed prompt into `cancelled`, with words for the page", async () => {
    get = vi.fn(() => Promise.reject(new DOMException("dismissed", "NotAllowedError")));
    Object.defineProperty(navigator, "credentials", { value: { create, get }, configurable: true });
    answer([200, REQUEST_OPTIONS]);
    const outcome = await signInWithPasskey();
    expect(outcome).toEqual({ kind: "cancelled" });
    expect(passkeyProblem(outcome)).toMatch(/No passkey was used/);
    expect(calls).toHaveLength(1); // nothing was posted
  });

  it("says so when the browser has no WebAuthn JSON support", async () => {
    vi.stubGlobal("PublicKeyCredential", undefined);
    answer();
    await expect(signInWithPasskey()).resolves.toEqual({ kind: "unsupported" });
    expect(calls).toHaveLength(0);
  });
});

describe("managing passkeys", () => {
  it("lists only the passkeys among the authenticators", async () => {
    const totp = { type: "totp", created_at: 1795580000, last_used_at: null };
    answer([200, { status: 200, data: [totp, PASSKEY] }]);
    await expect(listPasskeys()).resolves.toEqual([PASSKEY]);
  });

  it("creates a discoverable passkey and registers it by name", async () => {
    answer([200, CREATION_OPTIONS], [200, { status: 200, data: PASSKEY, meta: { recovery_codes_generated: false } }]);
    await expect(addPasskey("  Work laptop ")).resolves.toEqual(PASSKEY);
    expect(calls[0]?.url).toBe("/_allauth/browser/v1/account/authenticators/webauthn?passwordless");
    expect(create).toHaveBeenCalledOnce();
    expect(posted(1)).toEqual({ name: "Work laptop", credential: CREDENTIAL_JSON, passwordless: true });
  });

  it("asks for reauthentication when allauth wants fresh proof", async () => {
    answer([401, REAUTH]);
    await expect(addPasskey("x")).rejects.toMatchObject({ status: 401, code: "reauthentication_required" });
    expect(create).not.toHaveBeenCalled();
  });

  it("removes one passkey by id", async () => {
    answer([200, { status: 200 }]);
    await removePasskey(3);
    expect(calls[0]?.init?.method).toBe("DELETE");
    expect(posted(0)).toEqual({ authenticators: [3] });
  });
});
