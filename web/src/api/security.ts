// The signed-in person's own sign-in history (GET /api/account/security-events), and the plain
// words the security page uses for it: what happened, in which browser, from which network.
import { z } from "zod";
import { buildQuery, OUTCOMES } from "./audit";
import { apiRequest } from "./client";

export const securityEventSchema = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  action: z.string(),
  outcome: z.enum(OUTCOMES),
  address: z.string(),
  user_agent: z.string(),
  reason: z.string(),
});

export const securityPageSchema = z.strictObject({
  items: z.array(securityEventSchema),
  next_before: z.number().int().positive().nullable(),
});

export type SecurityEvent = z.infer<typeof securityEventSchema>;
export type SecurityPage = z.infer<typeof securityPageSchema>;

export const SECURITY_PAGE_SIZE = 20;

export function fetchSecurityEvents(_query: unknown, before: number | null): Promise<SecurityPage> {
  return apiRequest(`/account/security-events${buildQuery({ before, limit: SECURITY_PAGE_SIZE })}`, securityPageSchema);
}

// ---- Plain words -------------------------------------------------------------------------

interface Words {
  readonly done: string;
  readonly failed: string;
}

// One line for every auth.* action the server records (docs/api/http.md, "Audit").
const ACTIONS: ReadonlyMap<string, Words> = new Map([
  ["auth.login", { done: "Signed in", failed: "Sign-in failed" }],
  ["auth.reauthenticate", { done: "Confirmed your password", failed: "Password check failed" }],
  ["auth.logout", { done: "Signed out", failed: "Sign-out failed" }],
  ["auth.signup", { done: "Account created", failed: "Account creation failed" }],
  ["auth.password.changed", { done: "Password changed", failed: "Password change failed" }],
  ["auth.password.reset", { done: "Password reset", failed: "Password reset failed" }],
  ["auth.mfa.added", { done: "Two-step verification added", failed: "Two-step verification not added" }],
  ["auth.mfa.removed", { done: "Two-step verification removed", failed: "Two-step verification not removed" }],
  ["auth.mfa.reset", { done: "Two-step verification reset", failed: "Two-step verification not reset" }],
  ["auth.mfa.failed", { done: "Wrong two-step code", failed: "Wrong two-step code" }],
  ["auth.session.revoked", { done: "A session was signed out", failed: "A session could not be signed out" }],
  ["auth.session.expired", { done: "Signed out after a quiet spell", failed: "Signed out after a quiet spell" }],
]);

export function isFailure(event: Pick<SecurityEvent, "outcome" | "action">): boolean {
  return event.outcome !== "allowed" || event.action === "auth.mfa.failed";
}

/** "Signed in", "Sign-in failed (too many failed attempts)". */
export function eventWords(event: Pick<SecurityEvent, "action" | "outcome" | "reason">): string {
  const words = ACTIONS.get(event.action);
  const base = words === undefined ? "Account activity" : event.outcome === "allowed" ? words.done : words.failed;
  return event.reason.trim() === "" ? base : `${base} (${event.reason.trim()})`;
}

/** "Chrome on Linux", "Safari on iPhone"; "Unknown browser" when the browser said nothing. */
export function browserWords(userAgent: string): string {
  const ua = userAgent.trim();
  if (ua === "") return "Unknown browser";
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? "Edge"
    : /OPR\/|Opera/.test(ua)
      ? "Opera"
      : /Firefox\/|FxiOS\//.test(ua)
        ? "Firefox"
        : /SamsungBrowser\//.test(ua)
          ? "Samsung Internet"
          : /Chrome\/|Chromium\/|CriOS\//.test(ua)
            ? "Chrome"
            : /Safari\//.test(ua) && /Version\//.test(ua)
              ? "Safari"
              : null;
  const system = /iPhone/.test(ua)
    ? "iPhone"
    : /iPad/.test(ua)
      ? "iPad"
      : /Android/.test(ua)
        ? "Android"
        : /CrOS/.test(ua)
          ? "ChromeOS"
          : /Windows/.test(ua)
            ? "Windows"
            : /Mac OS X|Macintosh/.test(ua)
              ? "macOS"
              : /Linux|X11/.test(ua)
                ? "Linux"
                : null;
  if (browser === null && system === null) return "Unknown browser";
  if (browser === null) return `A browser on ${system ?? ""}`;
  return system === null ? browser : `${browser} on ${system}`;
}
