// Runs Argon2id + HKDF off the main thread (crypto-protocol §3.2: "Argon2id SHOULD run in a Web
// Worker"), so the page stays responsive while it unlocks. It answers with the authKey and the
// non-extractable KEK; the password it was given goes out of scope when the handler returns.
import "../api/zod-config";
import { CryptoError, derivePasswordKeys } from "../crypto";
import { parseUnlockRequest, type UnlockReply } from "./unlockMessages";

self.onmessage = (event: MessageEvent<unknown>): void => {
  const request = parseUnlockRequest(event.data);
  const reply = (message: UnlockReply): void => {
    self.postMessage(message);
  };
  if (request === null) {
    reply({ ok: false, code: "E_SCHEMA" });
    return;
  }
  derivePasswordKeys(request.password, request.salt, request.kdf, request.secretKey).then(
    (keys) => {
      reply({ ok: true, authKey: keys.authKey, kek: keys.kek });
    },
    (error: unknown) => {
      reply({ ok: false, code: error instanceof CryptoError ? error.code : "E_UNLOCK" });
    },
  );
};
