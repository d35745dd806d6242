// Sign-in with a passkey, for the sign-in page. No password is typed, so no authKey and no KEK
// come out of it: the account's keys open only through this device's remembered key
// (`dev_wrap`, crypto-protocol §3.5, §5.2), which the key session handles after sign-in.
import type { AuthOutcome } from "../api/allauth";
import { PasskeyCancelled, passkeySignIn, passkeysSupported } from "../api/passkeys";

export type PasskeyOutcome =
  | Extract<AuthOutcome, { kind: "signed-in" | "rejected" | "throttled" }>
  | { kind: "cancelled" }
  | { kind: "unsupported" };

/** Runs the whole passkey sign-in. A passkey the server does not know, or a signature that does
 * not verify, comes back as `rejected` (allauth's `incorrect_code`), like a wrong password. */
export async function signInWithPasskey(): Promise<PasskeyOutcome> {
  if (!passkeysSupported()) return { kind: "unsupported" };
  try {
    return await passkeySignIn();
  } catch (error) {
    if (error instanceof PasskeyCancelled) return { kind: "cancelled" };
    throw error;
  }
}

/** What the sign-in page shows for an outcome other than success. */
export function passkeyProblem(outcome: PasskeyOutcome): string | null {
  switch (outcome.kind) {
    case "signed-in":
      return null;
    case "cancelled":
      return "No passkey was used. Try again, or sign in with your password.";
    case "unsupported":
      return "This browser cannot use passkeys. Sign in with your password.";
    case "throttled":
      return "There have been too many attempts. Wait a few minutes before you try again.";
    case "rejected":
      return "That passkey is not registered for an account here. Sign in with your password.";
  }
}
