import { describe, expect, it } from "vitest";
import { matchRoute, ROUTES } from "./routes";

describe("matchRoute", () => {
  it("knows every route the server serves the app for", () => {
    for (const path of Object.values(ROUTES)) expect(matchRoute(path)).toBe(path);
  });

  it("treats anything else as unknown", () => {
    for (const path of ["/sign-in/", "/SETUP", "/api/meta", "/setup/extra", ""]) {
      expect(matchRoute(path)).toBeNull();
    }
  });
});
