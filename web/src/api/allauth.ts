// allauth's headless API for the browser client (session cookie + CSRF), mounted at
// /_allauth/browser/v1/. Its answers are `{status, data?, meta?, errors?}`, not the /api/ error
// shape, so they get their own request function and closed schemas here.
//
// Wherever allauth expects a password this module sends the derived authKey: callers hand it
// in and drop it; nothing here keeps, logs or stores it.
import { z } from "zod";
import { ApiError, csrfToken } from "./client";

export const ALLAUTH_BASE = "/_allauth/browser/v1";

// ---- Shapes (read from allauth 65's headless responses) ---------------------------------

export const allauthErrorSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  param: z.string().optional(),
});

export const flowSchema = z.strictObject({
  id: z.string(),
  is_pending: z.boolean().optional(),
  types: z.array(z.string()).optional(),
});

export const allauthUserSchema = z.strictObject({
  id: z.string(),
  display: z.string(),
  email: z.string().optional(),
  username: z.string().optional(),
  has_usable_password: z.boolean().optional(),
});

export const methodSchema = z.strictObject({
  method: z.string(),
  at: z.number(),
  email: z.string().optional(),
  phone: z.string().optional(),
  reauthenticated: z.boolean().optional(),
  passwordless: z.boolean().optional(),
  id: z.number().optional(),
  type: z.string().optional(),
});

const metaSchema = z.strictObject({ is_authenticated: z.boolean().nullable() });

/** Signed in (200) from login, 2fa/authenticate, reauthenticate and GET auth/session. */
export const authenticatedSchema = z.strictObject({
  status: z.literal(200),
  data: z.strictObject({ user: allauthUserSchema, methods: z.array(methodSchema) }),
  meta: metaSchema,
});

/** Not (fully) signed in (401): the flows that are open, one of them perhaps pending. */
export const unauthenticatedSchema = z.strictObject({
  status: z.literal(401),
  data: z.strictObject({ flows: z.array(flowSchema) }),
  meta: metaSchema,
});

export const errorAnswerSchema = z.strictObject({
  status: z.number().int(),
  errors: z.array(allauthErrorSchema),
});

/** allauth's bare 429 (or any answer with just a status). */
const bareSchema = z.strictObject({ status: z.number().int() });

export const sessionItemSchema = z.strictObject({
  id: z.number().int(),
  user_agent: z.string(),
  ip: z.string(),
  created_at: z.number(),
  is_current: z.boolean(),
  last_seen_at: z.number().optional(),
});

const sessionsSchema = z.strictObject({ status: z.literal(200), data: z.array(sessionItemSchema) });

export const authenticatorSchema = z.strictObject({
  type: z.enum(["totp", "recovery_codes", "webauthn"]),
  created_at: z.number(),
  last_used_at: z.number().nullable(),
  total_code_count: z.number().int().optional(),
  unused_code_count: z.number().int().optional(),
  unused_codes: z.array(z.string()).optional(),
  id: z.number().int().optional(),
  name: z.string().optional(),
  is_passwordless: z.boolean().optional(),
});

const authenticatorsSchema = z.strictObject({ status: z.literal(200), data: z.array(authenticatorSchema) });
const authenticatorAnswerSchema = z.strictObject({ status: z.literal(200), data: authenticatorSchema });

/** GET authenticators/totp with no TOTP yet: a fresh secret to enrol (404 by design). */
export const totpOfferSchema = z.strictObject({
  status: z.literal(404),
  meta: z.strictObject({
    secret: z.string().regex(/^[A-Z2-7]{16,128}$/),
    totp_url: z.string().startsWith("otpauth://totp/"),
  }),
});

export type AllauthUser = z.infer<typeof allauthUserSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type UserSession = z.infer<typeof sessionItemSchema>;
export type Authenticator = z.infer<typeof authenticatorSchema>;

// ---- Requests ----------------------------------------------------------------------------

type Method = "GET" | "POST" | "DELETE";

interface Answer {
  status: number;
  body: unknown;
}

async function send(path: string, method: Method, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  const response = await fetch(`${ALLAUTH_BASE}${path}`, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data: unknown = await response.json().catch(() => undefined);
  return { status: response.status, body: data };
}

function unexpected(status: number): ApiError {
  return new ApiError(status, "invalid_response", "The server gave an unexpected answer.");
}

/** The first error code of a 4xx answer, or "" when the answer has none. */
function errorCodes(answer: Answer): string[] {
  const parsed = errorAnswerSchema.safeParse(answer.body);
  return parsed.success ? parsed.data.errors.map((e) => e.code) : [];
}

/** allauth's answers without a response schema of their own: 401 (signed out), 403 (CSRF or
 * forbidden), 429 and error lists. Throws an ApiError carrying the first code. */
function failure(answer: Answer): ApiError {
  const errors = errorAnswerSchema.safeParse(answer.body);
  if (errors.success) {
    const first = errors.data.errors[0];
    return new ApiError(answer.status, first?.code ?? "unexpected", first?.message ?? "The server refused.");
  }
  if (answer.status === 429 && bareSchema.safeParse(answer.body).success) {
    return new ApiError(429, "too_many_requests", "Too many attempts. Wait a little and try again.");
  }
  if (answer.status === 401 && unauthenticatedSchema.safeParse(answer.body).success) {
    return new ApiError(401, "not_authenticated", "Sign in to continue.");
  }
  return unexpected(answer.status);
}

function parse<T>(schema: z.ZodType<T>, answer: Answer): T {
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) throw unexpected(answer.status);
  return parsed.data;
}

// ---- Authentication ------------------------------------------------------------------------

/** What a sign-in step came to. Wrong email, wrong password and wrong Secret Key all arrive
 * as one `rejected`: the server answers them alike (AU-03), and so must the page. */
export type AuthOutcome =
  | { kind: "signed-in"; user: AllauthUser }
  | { kind: "mfa"; types: string[] }
  | { kind: "pending"; flow: string }
  | { kind: "rejected"; code: string }
  | { kind: "throttled" };

const THROTTLE_CODES: ReadonlySet<string> = new Set(["too_many_login_attempts", "rate_limited"]);

function authOutcome(answer: Answer): AuthOutcome {
  if (answer.status === 200) return { kind: "signed-in", user: parse(authenticatedSchema, answer).data.user };
  if (answer.status === 429) return { kind: "throttled" };
  if (answer.status === 401) {
    const { flows } = parse(unauthenticatedSchema, answer).data;
    const pending = flows.find((f) => f.is_pending === true);
    if (pending === undefined) return { kind: "rejected", code: "not_authenticated" };
    if (pending.id === "mfa_authenticate") return { kind: "mfa", types: pending.types ?? [] };
    return { kind: "pending", flow: pending.id };
  }
  if (answer.status === 400) {
    const codes = errorCodes(answer);
    if (codes.length === 0) throw unexpected(answer.status);
    if (codes.some((c) => THROTTLE_CODES.has(c))) return { kind: "throttled" };
    return { kind: "rejected", code: codes[0] ?? "" };
  }
  throw failure(answer);
}

/** Asks allauth who is signed in; it also hands out the CSRF cookie the writes below need. */
export async function authSession(): Promise<AuthOutcome> {
  return authOutcome(await send("/auth/session", "GET"));
}

async function ensureCsrf(): Promise<void> {
  if (csrfToken() === "") await send("/auth/session", "GET");
}

export async function login(email: string, authKey: string): Promise<AuthOutcome> {
  await ensureCsrf();
  return authOutcome(await send("/auth/login", "POST", { email, password: authKey }));
}

/** Creates the account an opened invitation allows (the session holds the invitation). The
 * authKey stands where allauth expects the password (§3.5). */
export async function signup(email: string, authKey: string): Promise<AuthOutcome> {
  await ensureCsrf();
  return authOutcome(await send("/auth/signup", "POST", { email, password: authKey }));
}

/** The second step of a sign-in: an authenticator code or a recovery code. */
export async function authenticateSecondFactor(code: string): Promise<AuthOutcome> {
  await ensureCsrf();
  return authOutcome(await send("/auth/2fa/authenticate", "POST", { code }));
}

/** Fresh proof of the password (as its authKey) before changing a second factor. */
export async function reauthenticate(authKey: string): Promise<AuthOutcome> {
  return authOutcome(await send("/auth/reauthenticate", "POST", { password: authKey }));
}

/** Changes the password (§9.1 step 3): both are authKeys. The server activates this session's
 * pending key wrap in the same transaction, or refuses the change. */
export async function changePassword(currentAuthKey: string, newAuthKey: string): Promise<void> {
  await ensureCsrf();
  const answer = await send("/account/password/change", "POST", {
    current_password: currentAuthKey,
    new_password: newAuthKey,
  });
  if (answer.status !== 200) throw failure(answer);
  parse(authenticatedSchema, answer);
}

/** Signs this browser out. allauth answers 401 ("nobody is signed in now"). */
export async function logout(): Promise<void> {
  await ensureCsrf();
  const answer = await send("/auth/session", "DELETE");
  if (answer.status === 401 || answer.status === 200) return;
  throw failure(answer);
}

// ---- Sessions ----------------------------------------------------------------------------

export async function listSessions(): Promise<UserSession[]> {
  const answer = await send("/auth/sessions", "GET");
  if (answer.status !== 200) throw failure(answer);
  return parse(sessionsSchema, answer).data;
}

/** Ends the given sessions; returns the sessions still open (empty if this one ended). */
export async function endSessions(ids: number[]): Promise<UserSession[]> {
  const answer = await send("/auth/sessions", "DELETE", { sessions: ids });
  if (answer.status === 401) return [];
  if (answer.status !== 200) throw failure(answer);
  return parse(sessionsSchema, answer).data;
}

// ---- Second factors ------------------------------------------------------------------------

export async function listAuthenticators(): Promise<Authenticator[]> {
  const answer = await send("/account/authenticators", "GET");
  if (answer.status !== 200) throw failure(answer);
  return parse(authenticatorsSchema, answer).data;
}

export interface TotpOffer {
  secret: string;
  totpUrl: string;
}

/** A fresh TOTP secret to enrol, or null when one is enrolled already. A 401 means allauth
 * wants a recent reauthentication first. */
export async function totpOffer(): Promise<TotpOffer | null> {
  const answer = await send("/account/authenticators/totp", "GET");
  if (answer.status === 200) {
    parse(authenticatorAnswerSchema, answer);
    return null;
  }
  if (answer.status === 404) {
    const { meta } = parse(totpOfferSchema, answer);
    return { secret: meta.secret, totpUrl: meta.totp_url };
  }
  throw failure(answer);
}

/** Confirms TOTP enrolment with a code from the app. Throws ApiError("incorrect_code") when
 * the code is wrong. */
export async function activateTotp(code: string): Promise<Authenticator> {
  const answer = await send("/account/authenticators/totp", "POST", { code });
  if (answer.status !== 200) throw failure(answer);
  return parse(authenticatorAnswerSchema, answer).data;
}

/** The unused recovery codes (allauth shows them while the authentication is recent). */
export async function recoveryCodes(): Promise<string[]> {
  const answer = await send("/account/authenticators/recovery-codes", "GET");
  if (answer.status !== 200) throw failure(answer);
  return parse(authenticatorAnswerSchema, answer).data.unused_codes ?? [];
}

/** Splits a base32 secret into groups of four for reading aloud or typing. */
export function groupSecret(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(" ");
}
