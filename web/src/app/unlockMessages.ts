// The messages between the page and the unlock worker, checked on both sides. The reply carries
// the KEK as a CryptoKey (structured-cloneable); it must arrive non-extractable, so its bytes
// can never be read by script on either side.
import { z } from "zod";
import { isErrorCode, type ErrorCode, type KdfParams } from "../crypto";

export interface UnlockRequest {
  readonly password: string;
  readonly salt: Uint8Array;
  readonly kdf: KdfParams;
  readonly secretKey?: Uint8Array;
}

export type UnlockReply = { ok: true; authKey: string; kek: CryptoKey } | { ok: false; code: ErrorCode };

const requestSchema = z.strictObject({
  password: z.string(),
  salt: z.instanceof(Uint8Array),
  kdf: z.strictObject({ alg: z.literal("argon2id"), m: z.number().int(), t: z.number().int(), p: z.number().int() }),
  secretKey: z.instanceof(Uint8Array).optional(),
});

/** An AES-GCM key that script cannot export. */
export function isSealedKek(value: unknown): value is CryptoKey {
  return (
    typeof CryptoKey !== "undefined" &&
    value instanceof CryptoKey &&
    !value.extractable &&
    value.algorithm.name === "AES-GCM" &&
    value.usages.includes("decrypt")
  );
}

const replySchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    authKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    kek: z.custom<CryptoKey>(isSealedKek),
  }),
  z.strictObject({ ok: z.literal(false), code: z.string().refine(isErrorCode) }),
]);

export function parseUnlockRequest(data: unknown): UnlockRequest | null {
  const parsed = requestSchema.safeParse(data);
  if (!parsed.success) return null;
  const { password, salt, kdf, secretKey } = parsed.data;
  return secretKey === undefined ? { password, salt, kdf } : { password, salt, kdf, secretKey };
}

export function parseUnlockReply(data: unknown): UnlockReply | null {
  const parsed = replySchema.safeParse(data);
  if (!parsed.success) return null;
  const reply = parsed.data;
  if (reply.ok) return reply;
  return isErrorCode(reply.code) ? { ok: false, code: reply.code } : null;
}
