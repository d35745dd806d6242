// Passkeys through allauth's headless WebAuthn endpoints (allauth 65, MFA_PASSKEY_LOGIN_ENABLED):
//   GET/POST/DELETE /_allauth/browser/v1/account/authenticators/webauthn  (add, remove; needs a
//     recent reauthentication, else 401 with the reauthentication flows)
//   GET/POST /_allauth/browser/v1/auth/webauthn/login  (sign in with a passkey, no password)
// The server's options are WebAuthn's JSON forms (fido2's JSON mapping: base64url strings), which
// the browser itself turns into and out of binary (PublicKeyCredential.parse…FromJSON, toJSON):
// no encoding or crypto code of our own.
import { z } from "zod";
import {
  ALLAUTH_BASE,
  type AllauthUser,
  type Authenticator,
  authenticatedSchema,
  authenticatorSchema,
  errorAnswerSchema,
  unauthenticatedSchema,
} from "./allauth";
import { ApiError, csrfToken } from "./client";

const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/);
const credentialDescriptor = z.looseObject({ type: z.literal("public-key"), id: b64url });

// Loose inside `publicKey`: WebAuthn adds members over time (hints, attestationFormats…) and the
// browser validates the whole dictionary; the members we rely on are checked here.
export const creationOptionsSchema = z.strictObject({
  status: z.literal(200),
  data: z.strictObject({
    creation_options: z.strictObject({
      publicKey: z.looseObject({
        rp: z.looseObject({ name: z.string(), id: z.string().optional() }),
        user: z.looseObject({ id: b64url, name: z.string(), displayName: z.string() }),
        challenge: b64url.min(16),
        pubKeyCredParams: z.array(z.looseObject({ type: z.literal("public-key"), alg: z.number().int() })).min(1),
        excludeCredentials: z.array(credentialDescriptor).optional(),
      }),
    }),
  }),
});

export const requestOptionsSchema = z.strictObject({
  status: z.literal(200),
  data: z.strictObject({
    request_options: z.strictObject({
      publicKey: z.looseObject({
        challenge: b64url.min(16),
        rpId: z.string().optional(),
        allowCredentials: z.array(credentialDescriptor).optional(),
      }),
    }),
  }),
});

const authenticatorsSchema = z.strictObject({ status: z.literal(200), data: z.array(authenticatorSchema) });
const addedSchema = z.strictObject({
  status: z.literal(200),
  data: authenticatorSchema,
  meta: z.strictObject({ recovery_codes_generated: z.boolean() }).optional(),
});
const okSchema = z.strictObject({ status: z.literal(200) });

/** allauth's 401 for a signed-in session that must reauthenticate: it still names the user, and
 * lists the reauthentication flows open to them. */
export const reauthenticationSchema = z.strictObject({
  status: z.literal(401),
  data: z.strictObject({
    user: z.unknown(),
    methods: z.array(z.unknown()),
    flows: z.array(z.looseObject({ id: z.string() })),
  }),
  meta: z.strictObject({ is_authenticated: z.literal(true) }),
});

interface Answer {
  status: number;
  body: unknown;
}

async function send(path: string, method: "GET" | "POST" | "DELETE", body?: unknown): Promise<Answer> {
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

function parse<T>(schema: z.ZodType<T>, answer: Answer): T {
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) throw new ApiError(answer.status, "invalid_response", "The server gave an unexpected answer.");
  return parsed.data;
}

/** allauth's refusals as ApiErrors: 401 `reauthentication_required` when a signed-in session must
 * prove itself again first, 401 `not_authenticated` when nobody is signed in, else the first code. */
function failure(answer: Answer): ApiError {
  if (answer.status === 401) {
    if (reauthenticationSchema.safeParse(answer.body).success) {
      return new ApiError(401, "reauthentication_required", "Confirm it's you first.");
    }
    if (unauthenticatedSchema.safeParse(answer.body).success) {
      return new ApiError(401, "not_authenticated", "Sign in to continue.");
    }
  }
  const errors = errorAnswerSchema.safeParse(answer.body);
  if (errors.success) {
    const first = errors.data.errors[0];
    return new ApiError(answer.status, first?.code ?? "unexpected", first?.message ?? "The server refused.");
  }
  if (answer.status === 429) return new ApiError(429, "too_many_requests", "Too many attempts. Wait a little and try again.");
  return new ApiError(answer.status, "invalid_response", "The server gave an unexpected answer.");
}

async function ensureCsrf(): Promise<void> {
  if (csrfToken() === "") await send("/auth/session", "GET");
}

/** What the browser's WebAuthn API gave back, or the reason it gave nothing. */
export class PasskeyCancelled extends Error {
  constructor() {
    super("No passkey was used.");
    this.name = "PasskeyCancelled";
  }
}

export function passkeysSupported(): boolean {
  return (
    typeof window !== "undefined" &&
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
  );
}

function credentialJson(credential: Credential | null): unknown {
  if (!(credential instanceof PublicKeyCredential)) throw new PasskeyCancelled();
  return credential.toJSON();
}

/** NotAllowedError is the browser's answer when the person cancels or the time runs out. */
function rethrow(error: unknown): never {
  if (error instanceof DOMException && (error.name === "NotAllowedError" || error.name === "AbortError")) {
    throw new PasskeyCancelled();
  }
  throw error;
}

// ---- Managing one's passkeys (signed in) -------------------------------------------------

export async function listPasskeys(): Promise<Authenticator[]> {
  const answer = await send("/account/authenticators", "GET");
  if (answer.status !== 200) throw failure(answer);
  return parse(authenticatorsSchema, answer).data.filter((a) => a.type === "webauthn");
}

/** Creates a passkey on this device and registers it. A passkey here can sign in on its own
 * (passwordless: discoverable and user-verified) and also serves as a second factor. Throws
 * ApiError("reauthentication_required") when allauth wants fresh proof first, and
 * PasskeyCancelled when the person dismissed the browser's prompt. */
export async function addPasskey(name: string): Promise<Authenticator> {
  await ensureCsrf();
  const offer = await send("/account/authenticators/webauthn?passwordless", "GET");
  if (offer.status !== 200) throw failure(offer);
  const { publicKey } = parse(creationOptionsSchema, offer).data.creation_options;
  const options = PublicKeyCredential.parseCreationOptionsFromJSON(publicKey as PublicKeyCredentialCreationOptionsJSON);
  const credential = await navigator.credentials.create({ publicKey: options }).catch(rethrow);
  const answer = await send("/account/authenticators/webauthn", "POST", {
    name: name.trim(),
    credential: credentialJson(credential),
    passwordless: true,
  });
  if (answer.status !== 200) throw failure(answer);
  return parse(addedSchema, answer).data;
}

export async function removePasskey(id: number): Promise<void> {
  await ensureCsrf();
  const answer = await send("/account/authenticators/webauthn", "DELETE", { authenticators: [id] });
  if (answer.status !== 200) throw failure(answer);
  parse(okSchema, answer);
}

// ---- Signing in with a passkey (signed out) ------------------------------------------------

export type PasskeySignIn = { kind: "signed-in"; user: AllauthUser } | { kind: "rejected"; code: string } | { kind: "throttled" };

/** One passkey sign-in: options from the server, the browser's prompt, the signed answer back.
 * Throws PasskeyCancelled when the person dismissed the prompt. */
export async function passkeySignIn(): Promise<PasskeySignIn> {
  await ensureCsrf();
  const offer = await send("/auth/webauthn/login", "GET");
  if (offer.status === 429) return { kind: "throttled" };
  if (offer.status !== 200) throw failure(offer);
  const { publicKey } = parse(requestOptionsSchema, offer).data.request_options;
  const options = PublicKeyCredential.parseRequestOptionsFromJSON(publicKey as PublicKeyCredentialRequestOptionsJSON);
  const credential = await navigator.credentials.get({ publicKey: options }).catch(rethrow);
  const answer = await send("/auth/webauthn/login", "POST", { credential: credentialJson(credential) });
  if (answer.status === 200) return { kind: "signed-in", user: parse(authenticatedSchema, answer).data.user };
  if (answer.status === 429) return { kind: "throttled" };
  if (answer.status === 400) {
    const errors = errorAnswerSchema.safeParse(answer.body);
    if (errors.success) return { kind: "rejected", code: errors.data.errors[0]?.code ?? "" };
  }
  throw failure(answer);
}
