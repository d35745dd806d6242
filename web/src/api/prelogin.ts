// Prelogin (crypto-protocol §3.1): the salt and Argon2id parameters the browser needs to derive
// the authKey from a password. The parameters are checked against the client's built-in
// bounds before any use, so a server cannot hand out weak ones (§3.2, E_KDF_PARAMS).
import { z } from "zod";
import { checkKdfParams, fromB64url, type KdfParams } from "../crypto";
import { apiRequest } from "./client";

export const preloginSchema = z.strictObject({
  salt: z.string().regex(/^[A-Za-z0-9_-]{22}$/), // 16 bytes, base64url without padding
  kdf: z.strictObject({
    alg: z.literal("argon2id"),
    m: z.number().int(),
    t: z.number().int(),
    p: z.number().int(),
  }),
});

export interface Prelogin {
  readonly salt: Uint8Array;
  readonly kdf: KdfParams;
}

/** Throws ApiError for a refused or malformed answer, CryptoError(E_KDF_PARAMS) for
 * parameters outside the built-in bounds. */
export async function prelogin(email: string): Promise<Prelogin> {
  const answer = await apiRequest("/keys/prelogin", preloginSchema, { method: "POST", body: { email } });
  const kdf = checkKdfParams(answer.kdf);
  return { salt: fromB64url(answer.salt), kdf };
}
