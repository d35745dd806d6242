import { describe, expect, it } from "vitest";
import { MIN_SCORE, checkStrength } from "./strength";
import { checkNewPassword } from "./NewPassword";

describe("password strength", () => {
  it("refuses common and personal passwords, accepts a passphrase", async () => {
    expect((await checkStrength("password1")).score).toBeLessThan(MIN_SCORE);
    expect((await checkStrength("qwerty123")).score).toBeLessThan(MIN_SCORE);
    expect((await checkStrength("canary 3f9a1c lantern orchard")).score).toBeGreaterThanOrEqual(MIN_SCORE);
  });

  it("says what is wrong with a new password", async () => {
    expect(await checkNewPassword("", "", [])).toBe("Choose a password.");
    expect(await checkNewPassword("canary lantern orchard", "canary lantern", [])).toContain("not the same");
    expect(await checkNewPassword("password1", "password1", [])).toContain("too easy");
    expect(await checkNewPassword("canary 3f9a1c lantern orchard", "canary 3f9a1c lantern orchard", [])).toBeNull();
  });
});
