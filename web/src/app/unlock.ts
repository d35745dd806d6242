// Password → authKey and KEK, as crypto-protocol §3 says: prelogin, a check of the KDF
// parameters against the built-in bounds, then Argon2id + HKDF in this browser (in a Web Worker
// when the browser has them). The password and the authKey are never stored, logged or put in
// a URL; callers send the authKey where allauth expects a password and then drop it. The KEK is
// a non-extractable CryptoKey that opens `pw_wrap` (§4.2).
import { CryptoError, derivePasswordKeys, type KdfParams, type PasswordKeys } from "../crypto";
import { prelogin } from "../api/prelogin";
import { parseUnlockReply, type UnlockRequest } from "./unlockMessages";

function inWorker(request: UnlockRequest): Promise<PasswordKeys> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./unlock.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<unknown>): void => {
      worker.terminate();
      const reply = parseUnlockReply(event.data);
      if (reply === null) reject(new CryptoError("E_UNLOCK", "the unlock worker gave an unexpected answer"));
      else if (reply.ok) resolve({ authKey: reply.authKey, kek: reply.kek });
      else reject(new CryptoError(reply.code, "the unlock worker failed"));
    };
    worker.onerror = (event: ErrorEvent): void => {
      event.preventDefault();
      worker.terminate();
      reject(new Error("worker unavailable"));
    };
    worker.postMessage(request);
  });
}

async function onThisThread(request: UnlockRequest): Promise<PasswordKeys> {
  // Let the page paint its "Unlocking…" state before Argon2id holds the thread.
  await new Promise((resolve) => setTimeout(resolve, 30));
  return derivePasswordKeys(request.password, request.salt, request.kdf, request.secretKey);
}

async function derive(request: UnlockRequest): Promise<PasswordKeys> {
  if (typeof Worker === "undefined") return onThisThread(request);
  try {
    return await inWorker(request);
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    return onThisThread(request); // the worker could not start: do the same work here
  }
}

/** What a derivation used and gave: the salt and parameters are needed again to seal or open
 * `pw_wrap`, whose associated data binds them. */
export interface DerivedKeys extends PasswordKeys {
  readonly salt: Uint8Array;
  readonly kdf: KdfParams;
}

/** authKey and KEK from a password with a known salt and parameters (password change). */
export async function deriveKeysWith(
  password: string,
  salt: Uint8Array,
  kdf: KdfParams,
  secretKey?: Uint8Array,
): Promise<DerivedKeys> {
  const keys = await derive(secretKey === undefined ? { password, salt, kdf } : { password, salt, kdf, secretKey });
  return { ...keys, salt, kdf };
}

/** authKey and KEK for `email` and `password` (and a staff Secret Key), after prelogin. Throws
 * ApiError when prelogin is refused, CryptoError(E_KDF_PARAMS) for parameters outside the bounds. */
export async function deriveKeys(email: string, password: string, secretKey?: Uint8Array): Promise<DerivedKeys> {
  const { salt, kdf } = await prelogin(email);
  return deriveKeysWith(password, salt, kdf, secretKey);
}

/** The authKey alone, for re-authentication. */
export async function deriveAuthKey(email: string, password: string, secretKey?: Uint8Array): Promise<string> {
  return (await deriveKeys(email, password, secretKey)).authKey;
}
