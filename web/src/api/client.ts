// The one way the web client talks to the server. Every response is validated against a
// schema before use: a server (or a proxy) that sends something unexpected gets an error,
// never a half-understood object.
import { z } from "zod";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }).loose(),
});

/** Fired on window when the server says nobody is signed in (signed out elsewhere, idle
 * logoff): the key session listens and forgets the keys (crypto-protocol §4.3). */
export const SIGNED_OUT_EVENT = "quietroom:signed-out";

export function csrfToken(): string {
  const cookie = document.cookie.split("; ").find((c) => /^(__Host-)?qr-csrf=/.test(c));
  return cookie === undefined ? "" : decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1));
}

export async function apiRequest<T>(
  path: string,
  schema: z.ZodType<T>,
  init: { method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"; body?: unknown } = {},
): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = errorBody.safeParse(data);
    // 401 `reauthentication_required` (a sensitive action wants fresh proof) leaves the person
    // signed in, so it must not forget the keys as a real sign-out does.
    const reauth = parsed.success && parsed.data.error.code === "reauthentication_required";
    if (response.status === 401 && !reauth && typeof window !== "undefined") window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    throw parsed.success
      ? new ApiError(response.status, parsed.data.error.code, parsed.data.error.message)
      : new ApiError(response.status, "unexpected", "The server gave an unexpected answer.");
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ApiError(response.status, "invalid_response", "The server gave an unexpected answer.");
  }
  return parsed.data;
}

export const metaSchema = z.object({ name: z.string(), version: z.string() }).strict();
export type Meta = z.infer<typeof metaSchema>;

export function fetchMeta(): Promise<Meta> {
  return apiRequest("/meta", metaSchema);
}
