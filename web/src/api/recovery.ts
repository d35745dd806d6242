// Password reset and account recovery (crypto-protocol §9.2, §10; docs/api/keys.md "Recovery",
// docs/api/http.md). What goes out is an authKey, a public key or something the browser sealed;
// nothing here keeps, logs or stores a secret.
import { z } from "zod";
import { ALLAUTH_BASE } from "./allauth";
import { ApiError, apiRequest, csrfToken } from "./client";
import { accountKeysOutSchema, type AccountKeysIn, type AccountKeysOut } from "./keys";

// ---- allauth: password reset by email (§9.2) -------------------------------------------------

async function allauthSend(path: string, method: "GET" | "POST", body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const h: Record<string, string> = { Accept: "application/json", ...headers };
  if (method !== "GET") {
    if (csrfToken() === "") await fetch(`${ALLAUTH_BASE}/auth/session`, { credentials: "same-origin", cache: "no-store" });
    h["Content-Type"] = "application/json";
    h["X-CSRFToken"] = csrfToken();
  }
  const response = await fetch(`${ALLAUTH_BASE}${path}`, {
    method,
    headers: h,
    credentials: "same-origin",
    cache: "no-store",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

const allauthErrors = z.object({ status: z.number(), errors: z.array(z.object({ code: z.string(), message: z.string() }).loose()) });

function allauthFailure(answer: { status: number; body: unknown }): ApiError {
  if (answer.status === 429) return new ApiError(429, "too_many_requests", "Too many attempts. Wait a little and try again.");
  const parsed = allauthErrors.safeParse(answer.body);
  const first = parsed.success ? parsed.data.errors[0] : undefined;
  if (first !== undefined) return new ApiError(answer.status, first.code, first.message);
  return new ApiError(answer.status, "invalid_response", "The server gave an unexpected answer.");
}

/** Asks for a reset link. The server answers alike for known and unknown addresses. */
export async function requestPasswordReset(email: string): Promise<void> {
  const answer = await allauthSend("/auth/password/request", "POST", { email });
  if (answer.status !== 200) throw allauthFailure(answer);
}

const resetInfoSchema = z.object({
  status: z.literal(200),
  data: z.object({ user: z.object({ id: z.string(), email: z.string().optional() }).loose() }).loose(),
}).loose();

/** Whom an emailed reset key belongs to (the key travels in a header, never a URL). Throws
 * ApiError for an expired, used or unknown key. */
export async function resetKeyInfo(key: string): Promise<{ userId: string; email: string }> {
  const answer = await allauthSend("/auth/password/reset", "GET", undefined, { "X-Password-Reset-Key": key });
  if (answer.status !== 200) throw allauthFailure(answer);
  const parsed = resetInfoSchema.safeParse(answer.body);
  if (!parsed.success || parsed.data.data.user.email === undefined) {
    throw new ApiError(answer.status, "invalid_response", "The server gave an unexpected answer.");
  }
  return { userId: parsed.data.data.user.id, email: parsed.data.data.user.email };
}

/** Sets the new login secret. allauth answers 401 (no sign-in after a reset, by setting) or 200. */
export async function resetPassword(key: string, authKey: string): Promise<void> {
  const answer = await allauthSend("/auth/password/reset", "POST", { key, password: authKey });
  if (answer.status !== 200 && answer.status !== 401) throw allauthFailure(answer);
}

// ---- Practice-assisted recovery (§10.2) ------------------------------------------------------

const idSchema = z.strictObject({ id: z.uuid() });

export const recoveryStatusSchema = z.strictObject({
  id: z.uuid(),
  status: z.enum(["waiting", "transferred", "completed", "cancelled"]),
  transfer: z.strictObject({ ct: z.string(), aek_pub: z.string() }).nullable(),
});

export type RecoveryStatus = z.infer<typeof recoveryStatusSchema>;

export async function createRecoveryRequest(tPub: string): Promise<string> {
  return (await apiRequest("/keys/recovery/requests", idSchema, { method: "POST", body: { t_pub: tPub } })).id;
}

export async function fetchRecoveryRequest(id: string): Promise<RecoveryStatus> {
  return apiRequest(`/keys/recovery/requests/${id}`, recoveryStatusSchema);
}

export async function completeRecovery(requestId: string, keys: AccountKeysIn): Promise<AccountKeysOut> {
  return apiRequest("/keys/recovery/complete", accountKeysOutSchema, { method: "POST", body: { request_id: requestId, keys } });
}

export const openRecoveryRequestSchema = z.strictObject({
  id: z.uuid(),
  user_id: z.uuid(),
  display_name: z.string(),
  role: z.enum(["owner", "admin", "therapist", "client"]),
  t_pub: z.string(),
  created_at: z.string(),
  aek_pub: z.string(),
  rec_escrow: z.strictObject({ prk_id: z.string(), ct: z.string() }),
});

export type OpenRecoveryRequest = z.infer<typeof openRecoveryRequestSchema>;

export async function listRecoveryRequests(practiceId: string): Promise<OpenRecoveryRequest[]> {
  return (await apiRequest(`/practices/${practiceId}/recovery-requests`, z.strictObject({ requests: z.array(openRecoveryRequestSchema) }))).requests;
}

export interface RecoveryTransferUpload {
  ct: string;
  at: number;
  method: "browser" | "offline";
  sig: string;
}

export async function postRecoveryTransfer(practiceId: string, requestId: string, body: RecoveryTransferUpload): Promise<void> {
  await apiRequest(`/practices/${practiceId}/recovery-requests/${requestId}/transfer`, z.unknown(), { method: "POST", body });
}
