// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { activateTotp, groupSecret, listSessions, login, logout, totpOffer } from "./allauth";

const USER = { id: "9850784d-26f7-4e51-8432-5f6b324462ea", display: "Sam", email: "sam@example.test", has_usable_password: true };
const SIGNED_IN = {
  status: 200,
  data: { user: USER, methods: [{ method: "password", at: 1795580850.57, email: "sam@example.test" }] },
  meta: { is_authenticated: true },
};
const MISMATCH = {
  status: 400,
  errors: [{ message: "The email address and/or password you specified are not correct.", code: "email_password_mismatch", param: "password" }],
};

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

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "qr-csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("login", () => {
  it("sends the authKey as the password with the CSRF token, and reads a sign-in", async () => {
    document.cookie = "qr-csrf=token123";
    answer([200, SIGNED_IN]);
    await expect(login("sam@example.test", "A".repeat(43))).resolves.toEqual({ kind: "signed-in", user: USER });
    expect(calls[0]?.url).toBe("/_allauth/browser/v1/auth/login");
    expect(new Headers(calls[0]?.init?.headers).get("X-CSRFToken")).toBe("token123");
    expect(JSON.parse(calls[0]?.init?.body as string)).toEqual({ email: "sam@example.test", password: "A".repeat(43) });
  });

  it("asks allauth for a CSRF cookie first when there is none", async () => {
    answer([401, { status: 401, data: { flows: [{ id: "login" }] }, meta: { is_authenticated: false } }], [400, MISMATCH]);
    await expect(login("x@example.test", "B".repeat(43))).resolves.toEqual({ kind: "rejected", code: "email_password_mismatch" });
    expect(calls.map((c) => c.url)).toEqual(["/_allauth/browser/v1/auth/session", "/_allauth/browser/v1/auth/login"]);
  });

  it("turns a pending mfa_authenticate flow into the code step", async () => {
    document.cookie = "qr-csrf=t";
    const flows = [{ id: "login" }, { id: "mfa_authenticate", is_pending: true, types: ["recovery_codes", "totp"] }];
    answer([401, { status: 401, data: { flows }, meta: { is_authenticated: false } }]);
    await expect(login("a@b.test", "C".repeat(43))).resolves.toEqual({ kind: "mfa", types: ["recovery_codes", "totp"] });
  });

  it("reads both throttles as one outcome", async () => {
    document.cookie = "qr-csrf=t";
    answer([400, { status: 400, errors: [{ message: "Too many", code: "too_many_login_attempts" }] }]);
    await expect(login("a@b.test", "D".repeat(43))).resolves.toEqual({ kind: "throttled" });
    answer([429, { status: 429 }]);
    await expect(login("a@b.test", "D".repeat(43))).resolves.toEqual({ kind: "throttled" });
  });

  it("refuses answers outside the schema", async () => {
    document.cookie = "qr-csrf=t";
    answer([200, { ...SIGNED_IN, extra: 1 }]);
    await expect(login("a@b.test", "E".repeat(43))).rejects.toMatchObject({ code: "invalid_response" });
    answer([400, { status: 400 }]);
    await expect(login("a@b.test", "E".repeat(43))).rejects.toMatchObject({ code: "invalid_response" });
  });
});

describe("sessions and second factors", () => {
  it("lists sessions and signs out", async () => {
    const session = { user_agent: "UA", ip: "127.0.0.1", created_at: 1795580850.58, is_current: true, id: 1 };
    answer([200, { status: 200, data: [session] }]);
    await expect(listSessions()).resolves.toEqual([session]);
    document.cookie = "qr-csrf=t";
    answer([401, { status: 401, data: { flows: [{ id: "login" }] }, meta: { is_authenticated: false } }]);
    await expect(logout()).resolves.toBeUndefined();
    expect(calls[0]?.init?.method).toBe("DELETE");
  });

  it("reads a TOTP offer and a wrong code", async () => {
    const secret = "F7FTA57NNZB7GQ75EB5KQ6RLHGBQUEQH";
    answer([404, { status: 404, meta: { secret, totp_url: `otpauth://totp/x?secret=${secret}&issuer=Quietroom` } }]);
    await expect(totpOffer()).resolves.toMatchObject({ secret });
    answer([400, { status: 400, errors: [{ message: "Incorrect code.", code: "incorrect_code", param: "code" }] }]);
    await expect(activateTotp("000000")).rejects.toMatchObject({ status: 400, code: "incorrect_code" });
  });

  it("groups a secret in fours", () => {
    expect(groupSecret("F7FTA57NNZB7GQ75EB5KQ6RLHGBQUEQH")).toBe("F7FT A57N NZB7 GQ75 EB5K Q6RL HGBQ UEQH");
    expect(groupSecret("ABCDEF")).toBe("ABCD EF");
  });
});
