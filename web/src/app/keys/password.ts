// Changing the password (crypto-protocol §9.1): the same UK is wrapped again under the KEK of
// the new password, with the same salt and the current default Argon2id parameters. The server
// holds the new wrap as pending for this session, activates it in the transaction that changes
// the password, and deletes the old one only after this browser proves it opens the new one.
import { CryptoError, DEFAULT_KDF, b64url, checkKdfParams, fromB64url, openPwWrap, sealPwWrap } from "../../crypto";
import { changePassword, reauthenticate } from "../../api/allauth";
import { confirmPwWrap, fetchAccountKeys, postPendingPwWrap } from "../../api/keys";
import { deriveKeysWith } from "../unlock";
import type { KeySession } from "./types";

export class NotRightError extends Error {
  constructor(readonly throttled: boolean) {
    super(throttled ? "too many attempts" : "wrong password or Secret Key");
    this.name = "NotRightError";
  }
}

/** The Secret Key this device keeps for the account (staff), if any. */
export async function storedSecretKey(session: KeySession): Promise<Uint8Array | undefined> {
  return (await session.keystore.getDevice(session.userId))?.secretKey;
}

export async function changeAccountPassword(
  session: KeySession,
  currentPassword: string,
  newPassword: string,
  secretKey: Uint8Array | undefined,
): Promise<void> {
  const out = await fetchAccountKeys();
  if (out === null) throw new CryptoError("E_UNLOCK", "this account has no keys");
  const salt = fromB64url(out.salt);
  const currentKdf = checkKdfParams(out.pw_wrap.kdf);
  // 1. Proof of the current password: re-authentication, and the current wrap opens.
  const current = await deriveKeysWith(currentPassword, salt, currentKdf, secretKey);
  const outcome = await reauthenticate(current.authKey);
  if (outcome.kind !== "signed-in") throw new NotRightError(outcome.kind === "throttled");
  const uk = await openPwWrap(current.kek, fromB64url(out.pw_wrap.ct), session.userId, salt, currentKdf, out.pw_wrap.ver);
  try {
    // 2. The new wrap, pending for this session.
    const next = await deriveKeysWith(newPassword, salt, DEFAULT_KDF, secretKey);
    const ver = out.pw_wrap.ver + 1;
    const ct = await sealPwWrap(next.kek, uk, session.userId, salt, DEFAULT_KDF, ver);
    await postPendingPwWrap({ ver, kdf: DEFAULT_KDF, ct: b64url(ct) });
    // 3. The login change; the server activates the pending wrap in the same transaction.
    await changePassword(current.authKey, next.authKey);
    // 4. Unlock check with the new KEK, then confirm so the old wrap is deleted.
    (await openPwWrap(next.kek, ct, session.userId, salt, DEFAULT_KDF, ver)).fill(0);
    await confirmPwWrap(ver);
  } finally {
    uk.fill(0);
  }
}
