// Password → authKey, as crypto-protocol §3 says: prelogin, a check of the KDF parameters
// against the built-in bounds, then Argon2id + HKDF in this browser (in a Web Worker when the
// browser has them). The password and the authKey are never stored, logged or put in a URL;
// callers send the authKey where allauth expects a password and then drop it.
import { CryptoError, derivePasswordKeys } from "../crypto";
import { prelogin } from "../api/prelogin";
import { parseUnlockReply, type UnlockRequest } from "./unlockMessages";

function inWorker(request: UnlockRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./unlock.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<unknown>): void => {
      worker.terminate();
      const reply = parseUnlockReply(event.data);
      if (reply === null) reject(new CryptoError("E_UNLOCK", "the unlock worker gave an unexpected answer"));
      else if (reply.ok) resolve(reply.authKey);
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

async function onThisThread(request: UnlockRequest): Promise<string> {
  // Let the page paint its "Unlocking…" state before Argon2id holds the thread.
  await new Promise((resolve) => setTimeout(resolve, 30));
  const keys = await derivePasswordKeys(request.password, request.salt, request.kdf, request.secretKey);
  return keys.authKey;
}

async function derive(request: UnlockRequest): Promise<string> {
  if (typeof Worker === "undefined") return onThisThread(request);
  try {
    return await inWorker(request);
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    return onThisThread(request); // the worker could not start: do the same work here
  }
}

/** The authKey for `email` and `password` (and a staff Secret Key). Throws ApiError when
 * prelogin is refused, CryptoError(E_KDF_PARAMS) for parameters outside the bounds. */
export async function deriveAuthKey(email: string, password: string, secretKey?: Uint8Array): Promise<string> {
  const { salt, kdf } = await prelogin(email);
  return derive(secretKey === undefined ? { password, salt, kdf } : { password, salt, kdf, secretKey });
}
