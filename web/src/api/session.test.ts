// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchSession, isClient, isStaff, type Session } from "./session";

function answer(status: number, body: unknown): void {
  vi.stubGlobal(
    "fetch",
    vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status }))),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const PRACTICE = "3247c33c-1951-4cbe-b0ba-3ee850123d30";

function session(...roles: string[]): Session {
  return {
    user_id: "a866c4b7-e506-465f-ab9b-b2abee67cf81",
    display_name: "Sam",
    memberships: roles.map((role) => ({ practice_id: PRACTICE, practice_name: "Harbour Lane", role })),
    keys: "ready",
    mfa_enabled: true,
    certified: true,
  };
}

describe("session", () => {
  it("treats 401 as signed out and other failures as errors", async () => {
    answer(401, { error: { code: "not_authenticated", message: "Sign in to continue." } });
    await expect(fetchSession()).resolves.toBeNull();
    answer(500, { error: { code: "server_error", message: "Something went wrong." } });
    await expect(fetchSession()).rejects.toMatchObject({ status: 500 });
  });

  it("reads roles into what the navigation offers", async () => {
    answer(200, session("client"));
    const signedIn = await fetchSession();
    expect(signedIn).not.toBeNull();
    if (signedIn === null) return;
    expect(isClient(signedIn)).toBe(true);
    expect(isStaff(signedIn)).toBe(false);
    for (const role of ["owner", "admin", "therapist"]) expect(isStaff(session(role))).toBe(true);
    expect(isClient(session("therapist"))).toBe(false);
  });
});
