import { describe, expect, it } from "vitest";
import { checkStrength, weakness } from "./strength";

describe("password strength", () => {
  it("refuses short and common passwords", async () => {
    expect(weakness("short", null)).toMatch(/at least 10/);
    const common = await checkStrength("password1234");
    expect(common.score).toBeLessThan(3);
    expect(weakness("password1234", common)).toMatch(/too easy to guess/);
  });

  it("accepts a long passphrase", async () => {
    const s = await checkStrength("lantern orbit mellow quarry 71");
    expect(weakness("lantern orbit mellow quarry 71", s)).toBeNull();
  });

  it("counts the user's own email as guessable", async () => {
    const pw = "quietrivera.clinic";
    const without = await checkStrength(pw);
    const withInput = await checkStrength(pw, ["quietrivera.clinic"]);
    expect(withInput.score).toBeLessThan(without.score);
  });
});
