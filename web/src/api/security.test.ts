import { describe, expect, it } from "vitest";
import { browserWords, eventWords, isFailure } from "./security";
import { preloginSchema } from "./prelogin";
import { checkKdfParams } from "../crypto";

describe("security history words", () => {
  it("names the browser and system in plain words", () => {
    const linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36";
    expect(browserWords(linux)).toBe("Chrome on Linux");
    expect(browserWords("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0")).toBe("Firefox on Windows");
    expect(
      browserWords("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    ).toBe("Safari on iPhone");
    expect(browserWords("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0")).toBe("Edge on macOS");
    expect(browserWords("")).toBe("Unknown browser");
    expect(browserWords("curl/8.0")).toBe("Unknown browser");
  });

  it("says what happened, and marks failures", () => {
    expect(eventWords({ action: "auth.login", outcome: "allowed", reason: "" })).toBe("Signed in");
    expect(eventWords({ action: "auth.login", outcome: "failed", reason: "too many failed attempts" })).toBe(
      "Sign-in failed (too many failed attempts)",
    );
    expect(eventWords({ action: "auth.something.new", outcome: "allowed", reason: "" })).toBe("Account activity");
    expect(isFailure({ action: "auth.login", outcome: "failed" })).toBe(true);
    expect(isFailure({ action: "auth.mfa.failed", outcome: "allowed" })).toBe(true);
    expect(isFailure({ action: "auth.login", outcome: "allowed" })).toBe(false);
  });
});

describe("prelogin answer", () => {
  it("accepts the server's shape and refuses weak or extra parameters", () => {
    const ok = { salt: "AAAAAAAAAAAAAAAAAAAAAA", kdf: { alg: "argon2id", m: 65536, t: 3, p: 1 } };
    expect(preloginSchema.safeParse(ok).success).toBe(true);
    expect(preloginSchema.safeParse({ ...ok, extra: true }).success).toBe(false);
    expect(preloginSchema.safeParse({ ...ok, kdf: { ...ok.kdf, alg: "pbkdf2" } }).success).toBe(false);
    expect(() => checkKdfParams({ alg: "argon2id", m: 1024, t: 1, p: 1 })).toThrow(/E_KDF_PARAMS/);
  });
});
