import { useEffect, useId, useRef, useState, type SyntheticEvent } from "react";
import { authSession, authenticateSecondFactor, login, reauthenticate, type AuthOutcome } from "../api/allauth";
import { ApiError } from "../api/client";
import { fetchSession } from "../api/session";
import { CryptoError, parseSecretKey } from "../crypto";
import { navigate } from "../app/navigation";
import { formText } from "../app/forms";
import { accountInfo, type AccountInfo } from "../app/keys/account";
import { useKeyActions, useKeySession } from "../app/keys/context";
import { knownUserId, rememberAccount } from "../app/keys/known";
import { openKeystore, unlockAccount } from "../app/keys/open";
import { deriveKeys, type DerivedKeys } from "../app/unlock";
import { Link } from "../app/Link";
import { PasskeySignInButton } from "../app/Passkeys";
import { ROUTES } from "../routes";

// One message for a wrong email, password or Secret Key: the server cannot tell them apart
// either, and saying which would reveal whether an account exists (AU-03).
export const NOT_RIGHT = "That email, password or Secret Key is not right.";
export const TOO_MANY =
  "There have been too many attempts to sign in. For your safety, wait a few minutes before you try again.";
const UNREACHABLE = "The server could not be reached just now. Check your connection and try again.";
const UNEXPECTED = "Something went wrong on the server. Try again in a moment.";
const UNSAFE_SETTINGS =
  "This server asked for unsafe password settings, so your password was not used. Tell your practice.";
const BAD_SECRET_KEY =
  "That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.";
const CODE_NOT_RIGHT = "That code is not right. Codes change every 30 seconds: try the newest one.";

type Step = { kind: "password" } | { kind: "unlocking" } | { kind: "code"; recovery: boolean } | { kind: "checking" };

/** What a sign-in keeps between the password and the second step, to unlock the keys after. */
interface Pending {
  readonly email: string;
  readonly keys: DerivedKeys;
  readonly secretKey: Uint8Array | undefined;
  readonly remember: boolean;
}

const KEYS_NOT_OPENED =
  "You are signed in, but your keys did not open on this device. Try again, or sign out and in again.";
const KEYS_FAILED_CHECK =
  "You are signed in, but a security check of your keys failed, so they were not opened. Tell your practice.";

/** A key problem from the sign-in, shown once by the unlock page (the sign-in form is gone by then). */
let carriedProblem: string | null = null;

/** The Secret Key this device keeps for the account with that email (staff), if any. */
async function storedSecretKeyFor(email: string): Promise<Uint8Array | undefined> {
  const userId = knownUserId(email);
  if (userId === undefined) return undefined;
  try {
    return (await (await openKeystore()).getDevice(userId))?.secretKey;
  } catch {
    return undefined;
  }
}

/** Where to go once the keys are open (or cannot be): enrolment first for staff, recovery when locked. */
export function landingFor(info: AccountInfo | null): string {
  if (info === null) return ROUTES.home;
  if (info.keys === "locked") return ROUTES.recover;
  if (info.staff && info.mfaEnabled === false) return ROUTES.welcome;
  return ROUTES.home;
}

function problemFor(error: unknown): string {
  if (error instanceof CryptoError && error.code === "E_KDF_PARAMS") return UNSAFE_SETTINGS;
  if (error instanceof ApiError) {
    if (error.status === 429) return TOO_MANY;
    if (error.status === 400) return NOT_RIGHT; // prelogin refuses a malformed email
    return UNEXPECTED;
  }
  if (error instanceof CryptoError) return UNEXPECTED;
  return UNREACHABLE;
}

export function SignInPage({ onSignedIn, info }: { onSignedIn: () => Promise<void>; info: AccountInfo | null }) {
  const keySession = useKeySession();
  if (info !== null && keySession === null) return <UnlockPage info={info} />;
  return <SignInForm onSignedIn={onSignedIn} />;
}

/** After allauth accepted the sign-in: open the keys with the KEK, or say why not. */
async function unlockAfterSignIn(
  pending: Pending,
  unlocked: ReturnType<typeof useKeyActions>["unlocked"],
): Promise<{ info: AccountInfo | null; problem: string | null }> {
  const session = await fetchSession();
  const info = session === null ? null : accountInfo(session);
  if (info === null) return { info, problem: null };
  rememberAccount(pending.email, info.userId);
  // Staff without a second factor go to enrolment, which allauth allows only just after a
  // re-authentication: do it now, while the authKey is at hand.
  if (info.staff && info.mfaEnabled === false) await reauthenticate(pending.keys.authKey).catch(() => undefined);
  try {
    const outcome = await unlockAccount({
      info,
      password: pending.keys,
      ...(pending.secretKey === undefined ? {} : { secretKey: pending.secretKey }),
      remember: pending.remember,
    });
    if (outcome.kind === "unlocked") unlocked(outcome.session);
    return { info, problem: outcome.kind === "needs-password" ? KEYS_NOT_OPENED : null };
  } catch (error) {
    if (error instanceof CryptoError) return { info, problem: error.code === "E_UNLOCK" ? KEYS_NOT_OPENED : KEYS_FAILED_CHECK };
    return { info, problem: KEYS_NOT_OPENED };
  }
}

function RememberDevice({ id }: { id: string }) {
  return (
    <div className="checkbox">
      <input id={id} name="remember" type="checkbox" />
      <label htmlFor={id}>Remember this device (only on a computer or phone that is yours alone)</label>
    </div>
  );
}

/** Signed in but locked (a reload, Lock, or a device that was not remembered): the password
 * (and for staff the Secret Key, unless this device keeps it) opens the keys again. */
function UnlockPage({ info }: { info: AccountInfo }) {
  const passwordId = useId();
  const secretKeyId = useId();
  const rememberId = useId();
  const { unlocked } = useKeyActions();
  const [email, setEmail] = useState<string | null>(null);
  const [storedKey, setStoredKey] = useState<Uint8Array | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(() => {
    const carried = carriedProblem;
    carriedProblem = null;
    return carried;
  });

  useEffect(() => {
    let live = true;
    authSession()
      .then(async (auth) => {
        const address = auth.kind === "signed-in" ? (auth.user.email ?? "") : "";
        const sk = info.staff ? await (await openKeystore()).getDevice(info.userId).then((r) => r?.secretKey) : undefined;
        if (!live) return;
        setEmail(address);
        setStoredKey(sk);
      })
      .catch(() => {
        if (live) setEmail("");
      });
    return () => {
      live = false;
    };
  }, [info]);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (busy || email === null) return;
    const form = event.currentTarget;
    const data = new FormData(form);
    const password = formText(data, "password");
    const field = form.elements.namedItem("password");
    if (field instanceof HTMLInputElement) field.value = "";
    let secretKey: Uint8Array | undefined;
    try {
      secretKey = !info.staff ? undefined : storedKey !== undefined ? Uint8Array.from(storedKey) : parseSecretKey(formText(data, "secretKey"));
    } catch {
      setProblem(BAD_SECRET_KEY);
      return;
    }
    setBusy(true);
    setProblem(null);
    void (async () => {
      try {
        const keys = await deriveKeys(email, password, secretKey);
        const result = await unlockAfterSignIn({ email, keys, secretKey, remember: data.get("remember") === "on" }, unlocked);
        if (result.problem !== null) setProblem(result.problem === KEYS_NOT_OPENED ? NOT_RIGHT : result.problem);
        else navigate(landingFor(result.info));
      } catch (error) {
        setProblem(problemFor(error));
      } finally {
        secretKey?.fill(0);
        setBusy(false);
      }
    })();
  };

  return (
    <section className="card narrow">
      <h1>Unlock your account</h1>
      <p className="muted">
        You are signed in{email !== null && email !== "" ? ` as ${email}` : ""}, but your keys are locked in this tab. Your
        password opens them here, in the browser.
      </p>
      <form onSubmit={onSubmit} noValidate aria-label="Unlock" aria-busy={busy}>
        <label htmlFor={passwordId}>Password</label>
        <input id={passwordId} name="password" type="password" autoComplete="current-password" required />
        {info.staff && storedKey === undefined && (
          <>
            <label htmlFor={secretKeyId}>Secret Key</label>
            <input id={secretKeyId} name="secretKey" type="password" autoComplete="off" spellCheck={false} placeholder="QR1-…" />
          </>
        )}
        <RememberDevice id={rememberId} />
        <button type="submit" className="button" disabled={busy || email === null}>
          Unlock
        </button>
      </form>
      <p aria-live="polite" className="status">
        {busy ? "Unlocking… this takes a moment, here on your device." : ""}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}

function SignInForm({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const { unlocked } = useKeyActions();
  const pending = useRef<Pending | null>(null);
  const rememberId = useId();
  const emailId = useId();
  const passwordId = useId();
  const secretKeyId = useId();
  const secretKeyHelpId = useId();
  const codeId = useId();
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  const [email, setEmail] = useState("");
  const [staff, setStaff] = useState(false);
  const [step, setStep] = useState<Step>({ kind: "password" });
  const [problem, setProblem] = useState<string | null>(null);
  const live = useRef(true);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  useEffect(() => {
    if (step.kind === "code") codeRef.current?.focus();
  }, [step]);

  const finish = async (outcome: AuthOutcome, during: "password" | "code", recovery = false): Promise<void> => {
    if (!live.current) return;
    switch (outcome.kind) {
      case "signed-in": {
        const held = pending.current;
        pending.current = null;
        let landing: string = ROUTES.home;
        let keysProblem: string | null = null;
        if (held !== null) {
          setStep({ kind: "unlocking" });
          try {
            const result = await unlockAfterSignIn(held, unlocked);
            landing = landingFor(result.info);
            keysProblem = result.problem;
          } finally {
            held.secretKey?.fill(0);
          }
        }
        // Signed in either way; a failed security check keeps the person on the unlock page
        // with the reason, anything else (no keys possible yet, for one) lands them as usual.
        carriedProblem = keysProblem === KEYS_FAILED_CHECK ? keysProblem : null;
        await onSignedIn();
        navigate(carriedProblem === null ? landing : ROUTES.signIn);
        return;
      }
      case "mfa":
        setProblem(null);
        setStep({ kind: "code", recovery: false });
        return;
      case "throttled":
        setProblem(TOO_MANY);
        break;
      case "pending":
        setProblem(
          outcome.flow === "verify_email"
            ? "Confirm your email address first: open the link in the email we sent you, then sign in."
            : UNEXPECTED,
        );
        break;
      case "rejected":
        if (during === "code" && outcome.code === "not_authenticated") {
          // The sign-in that asked for a code is over (it timed out): start again.
          setProblem("That sign-in took too long. Enter your password again.");
          setStep({ kind: "password" });
          return;
        }
        setProblem(during === "code" ? CODE_NOT_RIGHT : NOT_RIGHT);
        break;
    }
    setStep(during === "code" ? { kind: "code", recovery } : { kind: "password" });
  };

  const signIn = async (form: HTMLFormElement): Promise<void> => {
    const data = new FormData(form);
    const typedEmail = formText(data, "email").trim();
    let secretKey: Uint8Array | undefined;
    if (staff) {
      try {
        secretKey = parseSecretKey(formText(data, "secretKey"));
      } catch {
        setProblem(BAD_SECRET_KEY);
        return;
      }
    } else {
      // A Secret Key this device keeps for that account (§3.3: typed once per device).
      secretKey = await storedSecretKeyFor(typedEmail);
    }
    if (typedEmail === "" || formText(data, "password") === "") {
      setProblem("Enter your email address and your password.");
      return;
    }
    setProblem(null);
    setStep({ kind: "unlocking" });
    let outcome: AuthOutcome;
    try {
      // The password is read from the form here and goes only into the derivation; the
      // field is cleared afterwards so the page holds no copy of it.
      const keys = await deriveKeys(typedEmail, formText(data, "password"), secretKey);
      data.delete("password");
      pending.current = { email: typedEmail, keys, secretKey, remember: data.get("remember") === "on" };
      outcome = await login(typedEmail, keys.authKey);
    } catch (error) {
      pending.current = null;
      secretKey?.fill(0);
      if (passwordRef.current !== null) passwordRef.current.value = "";
      if (live.current) {
        setProblem(problemFor(error));
        setStep({ kind: "password" });
      }
      return;
    }
    if (outcome.kind !== "signed-in" && outcome.kind !== "mfa") {
      // Rejected: the held keys are useless; the Secret Key bytes are wiped.
      pending.current = null;
      secretKey?.fill(0);
    }
    if (passwordRef.current !== null) passwordRef.current.value = "";
    await finish(outcome, "password");
  };

  const sendCode = async (code: string): Promise<void> => {
    const recovery = step.kind === "code" && step.recovery;
    setProblem(null);
    setStep({ kind: "checking" });
    try {
      await finish(await authenticateSecondFactor(code), "code", recovery);
    } catch (error) {
      if (!live.current) return;
      setProblem(problemFor(error));
      setStep({ kind: "code", recovery });
    }
    if (codeRef.current !== null) codeRef.current.value = "";
  };

  const onSubmitPassword = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (step.kind !== "password") return;
    void signIn(event.currentTarget);
  };

  const onSubmitCode = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (step.kind !== "code") return;
    const code = formText(new FormData(event.currentTarget), "code").replace(/[\s-]/g, "");
    if (!/^\d{6,8}$|^[A-Za-z0-9]{8,16}$/.test(code)) {
      setProblem(step.recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code from your app.");
      return;
    }
    void sendCode(code);
  };

  if (step.kind === "code" || step.kind === "checking") {
    const recovery = step.kind === "code" && step.recovery;
    return (
      <section className="card narrow">
        <h1>Sign in</h1>
        <p>
          {recovery
            ? "Enter one of the recovery codes you saved when you set up two-step verification. Each works once."
            : "Open your authenticator app and enter the 6-digit code it shows for Quietroom."}
        </p>
        <form onSubmit={onSubmitCode} noValidate aria-label="Second step">
          <label htmlFor={codeId}>{recovery ? "Recovery code" : "Authenticator code"}</label>
          <input
            ref={codeRef}
            id={codeId}
            name="code"
            type="text"
            inputMode={recovery ? "text" : "numeric"}
            autoComplete="one-time-code"
            spellCheck={false}
            maxLength={20}
            required
          />
          <button type="submit" className="button" disabled={step.kind === "checking"}>
            Continue
          </button>
        </form>
        <p aria-live="polite" className="status">
          {step.kind === "checking" ? "Checking…" : ""}
        </p>
        {problem !== null && (
          <p role="alert" className="problem">
            {problem}
          </p>
        )}
        <button
          type="button"
          className="link-button link-button-plain"
          onClick={() => {
            setProblem(null);
            setStep({ kind: "code", recovery: !recovery });
          }}
        >
          {recovery ? "Use the code from my app instead" : "I can't use my app: use a recovery code"}
        </button>
      </section>
    );
  }

  const unlocking = step.kind === "unlocking";
  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">Your password never leaves this device: it unlocks your keys here, in the browser.</p>
      <form onSubmit={onSubmitPassword} noValidate aria-label="Sign in" aria-busy={unlocking}>
        <label htmlFor={emailId}>Email address</label>
        <input
          id={emailId}
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => {
            setEmail(event.target.value);
          }}
        />
        <label htmlFor={passwordId}>Password</label>
        <input
          ref={passwordRef}
          id={passwordId}
          name="password"
          type="password"
          autoComplete="current-password"
          required
        />
        <button
          type="button"
          className="link-button link-button-plain disclosure"
          aria-expanded={staff}
          onClick={() => {
            setStaff(!staff);
          }}
        >
          I&apos;m practice staff
        </button>
        {staff && (
          <>
            <label htmlFor={secretKeyId}>Secret Key</label>
            <input
              id={secretKeyId}
              name="secretKey"
              type="password"
              autoComplete="off"
              autoCapitalize="characters"
              spellCheck={false}
              placeholder="QR1-…"
              aria-describedby={secretKeyHelpId}
            />
            <p id={secretKeyHelpId} className="hint">
              It is on your Emergency Kit and starts with QR1-. You enter it once on each new device; it never leaves
              this browser.
            </p>
          </>
        )}
        <RememberDevice id={rememberId} />
        <button type="submit" className="button" disabled={unlocking}>
          Sign in
        </button>
      </form>
      {/* A passkey signs in without the password; the keys then open from a remembered device
          or, failing that, the unlock page asks for the password (§3.5). */}
      <PasskeySignInButton
        onSignedIn={() => {
          void onSignedIn().then(() => {
            navigate(ROUTES.signIn);
          });
        }}
      />
      <p>
        <Link to={ROUTES.forgotPassword}>Forgot your password?</Link>
      </p>
      <p aria-live="polite" className="status">
        {unlocking ? "Unlocking… this takes a moment, here on your device." : ""}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}
