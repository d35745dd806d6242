// @vitest-environment jsdom
// A 401 `reauthentication_required` from /api/ (require_recent_auth on the server) is not a
// sign-out: the key session must keep its keys.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SIGNED_OUT_EVENT, apiRequest } from "./client";
import { z } from "zod";

function reply(status: number, body: unknown): void {
  vi.stubGlobal(
    "fetch",
    vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status }))),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("401 answers", () => {
  it("reauthentication_required keeps the session and reaches the caller as an ApiError", async () => {
    const heard = vi.fn();
    window.addEventListener(SIGNED_OUT_EVENT, heard);
    reply(401, { error: { code: "reauthentication_required", message: "Confirm it is you.", flows: ["reauthenticate"], max_age: 300 } });
    await expect(apiRequest("/audit/events/export", z.unknown())).rejects.toMatchObject({ status: 401, code: "reauthentication_required" });
    expect(heard).not.toHaveBeenCalled();
    window.removeEventListener(SIGNED_OUT_EVENT, heard);
  });

  it("not_authenticated still signals a sign-out", async () => {
    const heard = vi.fn();
    window.addEventListener(SIGNED_OUT_EVENT, heard);
    reply(401, { error: { code: "not_authenticated", message: "Sign in to continue." } });
    await expect(apiRequest("/session", z.unknown())).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledOnce();
    window.removeEventListener(SIGNED_OUT_EVENT, heard);
  });
});
