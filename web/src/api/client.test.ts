// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiRequest, fetchMeta, metaSchema } from "./client";

function answer(status: number, body: unknown): void {
  vi.stubGlobal(
    "fetch",
    vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status }))),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("apiRequest", () => {
  it("returns a response that matches its schema", async () => {
    answer(200, { name: "Quietroom", version: "0.1.0" });
    await expect(fetchMeta()).resolves.toEqual({ name: "Quietroom", version: "0.1.0" });
  });

  it("refuses a response with unexpected fields or types", async () => {
    answer(200, { name: "Quietroom", version: 1 });
    await expect(fetchMeta()).rejects.toMatchObject({ code: "invalid_response" });
    answer(200, { name: "Quietroom", version: "1", tracking: "id" });
    await expect(fetchMeta()).rejects.toBeInstanceOf(ApiError);
  });

  it("turns the server's JSON error into a typed error", async () => {
    answer(401, { error: { code: "not_authenticated", message: "Sign in to continue." } });
    await expect(apiRequest("/session", metaSchema)).rejects.toMatchObject({
      status: 401,
      code: "not_authenticated",
    });
  });

  it("sends the CSRF token on writes and never puts data in the URL", async () => {
    document.cookie = "qr-csrf=token123";
    const fetchMock = vi.fn((_url: string, _init: RequestInit) =>
      Promise.resolve(new Response(JSON.stringify({ name: "Q", version: "1" }), { status: 200 })),
    );
    vi.stubGlobal("fetch", fetchMock);
    await apiRequest("/profile", metaSchema, { method: "PATCH", body: { display_name: "Sam" } });
    const [url, init] = fetchMock.mock.calls[0] ?? ["", {}];
    expect(url).toBe("/api/profile");
    expect(new Headers(init.headers).get("X-CSRFToken")).toBe("token123");
    expect(init.body).toBe(JSON.stringify({ display_name: "Sam" }));
  });
});
