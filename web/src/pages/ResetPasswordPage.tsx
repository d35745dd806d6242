import { useEffect, useId, useRef, useState, type SyntheticEvent } from "react";
import { ApiError } from "../api/client";
import { resetKeyInfo, resetPassword } from "../api/recovery";
import { CryptoError, Keystore, parseSecretKey } from "../crypto";
import { formText } from "../app/forms";
import { Link } from "../app/Link";
import { deriveAuthKey } from "../app/unlock";
import { checkStrength, weakness, type Strength } from "../app/verification/strength";
import { ROUTES } from "../routes";

const LINK_GONE = "This link cannot be used any more: it works once, for 10 minutes. Ask for a new one.";
const BAD_SECRET_KEY =
  "That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.";

type Stage =
  | { kind: "checking" }
  | { kind: "gone" }
  | { kind: "form"; email: string; deviceSecretKey: Uint8Array | null }
  | { kind: "saving"; email: string; deviceSecretKey: Uint8Array | null }
  | { kind: "done"; staff: boolean; lostSecretKey: boolean };

/** The emailed key lives in the fragment (never sent to a server, never logged); read it once
 * and take it out of the address bar and history. */
function takeKeyFromFragment(): string | null {
  const match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (match?.[1] === undefined) return null;
  window.history.replaceState(window.history.state, "", window.location.pathname);
  return decodeURIComponent(match[1]);
}

/** A Secret Key this browser keeps for the account (§3.3), so the person need not type it. */
async function deviceSecretKey(userId: string): Promise<Uint8Array | null> {
  try {
    const keystore = await Keystore.open();
    try {
      return (await keystore.getDevice(userId))?.secretKey ?? null;
    } finally {
      keystore.close();
    }
  } catch {
    return null;
  }
}

export function ResetPasswordPage() {
  const passwordId = useId();
  const repeatId = useId();
  const strengthId = useId();
  const secretKeyId = useId();
  const lostId = useId();
  const key = useRef<string | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: "checking" });
  const [problem, setProblem] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const [scored, setScored] = useState<{ password: string; strength: Strength } | null>(null);
  // A score is shown only for the password it was computed for.
  const strength = scored !== null && scored.password === password ? scored.strength : null;
  const [staff, setStaff] = useState(false);
  const [lost, setLost] = useState(false);

  useEffect(() => {
    let live = true;
    key.current ??= takeKeyFromFragment();
    const k = key.current;
    if (k === null) {
      setStage({ kind: "gone" });
      return;
    }
    resetKeyInfo(k).then(
      async ({ userId, email }) => {
        const sk = await deviceSecretKey(userId);
        if (!live) return;
        setStaff(sk !== null);
        setStage({ kind: "form", email, deviceSecretKey: sk });
      },
      () => {
        if (live) setStage({ kind: "gone" });
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const email = stage.kind === "form" || stage.kind === "saving" ? stage.email : "";
  useEffect(() => {
    let live = true;
    if (password.length === 0) return;
    const timer = setTimeout(() => {
      void checkStrength(password, [email, email.split("@")[0] ?? ""]).then((s) => {
        if (live) setScored({ password, strength: s });
      });
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [password, email]);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (stage.kind !== "form" || key.current === null) return;
    const data = new FormData(event.currentTarget);
    void submit(data, stage, key.current);
  };

  const submit = async (data: FormData, stage: Extract<Stage, { kind: "form" }>, k: string): Promise<void> => {
    // The meter may still be loading: score the password here before judging it.
    const scoredNow = strength ?? (password.length >= 10 ? await checkStrength(password, [stage.email, stage.email.split("@")[0] ?? ""]) : null);
    const weak = weakness(password, scoredNow);
    if (weak !== null) {
      setProblem(weak);
      return;
    }
    if (formText(data, "repeat") !== password) {
      setProblem("The two passwords are not the same.");
      return;
    }
    let secretKey: Uint8Array | undefined;
    if (staff && !lost) {
      if (stage.deviceSecretKey !== null) secretKey = stage.deviceSecretKey.slice();
      else {
        try {
          secretKey = parseSecretKey(formText(data, "secretKey"));
        } catch {
          setProblem(BAD_SECRET_KEY);
          return;
        }
      }
    }
    setProblem(null);
    const current = stage;
    setStage({ ...current, kind: "saving" });
    try {
      // The salt does not change on a reset (§3.1): prelogin gives the account's own.
      await resetPassword(k, await deriveAuthKey(current.email, password, secretKey));
      key.current = null;
      setPassword("");
      setStage({ kind: "done", staff, lostSecretKey: staff && lost });
    } catch (error) {
      setStage(current);
      if (error instanceof ApiError && (error.code === "invalid" || error.status === 409 || error.status === 404)) {
        setStage({ kind: "gone" });
      } else if (error instanceof CryptoError && error.code === "E_KDF_PARAMS") {
        setProblem("This server asked for unsafe password settings, so your password was not used. Tell your practice.");
      } else if (error instanceof ApiError && error.status === 429) {
        setProblem("There have been too many attempts. Wait a few minutes and try again.");
      } else if (error instanceof ApiError && error.status === 400) {
        setProblem(LINK_GONE);
      } else {
        setProblem("The server could not be reached just now. Check your connection and try again.");
      }
    } finally {
      secretKey?.fill(0);
    }
  };

  if (stage.kind === "checking") {
    return (
      <section className="card narrow">
        <h1>Choose a new password</h1>
        <p className="status">Checking your link…</p>
      </section>
    );
  }
  if (stage.kind === "gone") {
    return (
      <section className="card narrow">
        <h1>Choose a new password</h1>
        <p role="alert" className="problem">
          {LINK_GONE}
        </p>
        <p>
          <Link to={ROUTES.forgotPassword}>Ask for a new link</Link>
        </p>
      </section>
    );
  }
  if (stage.kind === "done") {
    return (
      <section className="card narrow">
        <h1>Your new password is set</h1>
        <p role="status">You can sign in again with your new password.</p>
        <p>
          Your encrypted records are locked until you open them once more. Either sign in on a device where you chose
          &ldquo;Remember this device&rdquo;: it opens them for you. Or, with no such device, ask your practice: after
          signing in, go to <strong>Recover your account</strong> and they will help you.
        </p>
        {stage.lostSecretKey && (
          <p>
            You will get a new Secret Key and Emergency Kit when your account is recovered. Until then, sign in without a
            Secret Key.
          </p>
        )}
        <p>
          <Link to={ROUTES.signIn} className="button">
            Sign in
          </Link>
        </p>
      </section>
    );
  }

  const saving = stage.kind === "saving";
  const weak = password.length === 0 ? null : weakness(password, strength);
  return (
    <section className="card narrow">
      <h1>Choose a new password</h1>
      <p className="muted">
        For {stage.email}. Your password never leaves this device. A new password lets you sign in again; your records
        open again on a remembered device or with your practice&apos;s help.
      </p>
      <form onSubmit={onSubmit} noValidate aria-label="Choose a new password" aria-busy={saving}>
        <label htmlFor={passwordId}>New password</label>
        <input
          id={passwordId}
          name="password"
          type="password"
          autoComplete="new-password"
          required
          aria-describedby={strengthId}
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
          }}
        />
        <p id={strengthId} className="hint" aria-live="polite">
          {password.length === 0 ? "Use a long passphrase: several unrelated words are easy to remember." : (weak ?? "Strong enough.")}
        </p>
        <label htmlFor={repeatId}>The new password again</label>
        <input id={repeatId} name="repeat" type="password" autoComplete="new-password" required />
        {stage.deviceSecretKey === null && (
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
        )}
        {staff && stage.deviceSecretKey !== null && <p className="hint">This device keeps your Secret Key: it is used here.</p>}
        {staff && stage.deviceSecretKey === null && (
          <>
            {!lost && (
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
                />
              </>
            )}
            <div className="check">
              <input
                id={lostId}
                type="checkbox"
                checked={lost}
                onChange={(e) => {
                  setLost(e.target.checked);
                }}
              />
              <label htmlFor={lostId}>I lost my Secret Key too</label>
            </div>
          </>
        )}
        <button type="submit" className="button" disabled={saving}>
          Set the new password
        </button>
      </form>
      <p aria-live="polite" className="status">
        {saving ? "Saving… this takes a moment, here on your device." : ""}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}
