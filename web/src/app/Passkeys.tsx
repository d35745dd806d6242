// Passkeys on the security page (list, add, remove) and the "Sign in with a passkey" button for
// the sign-in page. Adding or removing one is a change to how the account signs in, so allauth
// asks for fresh proof first: the password (as its authKey), typed here and dropped at once.
import { useId, useState, type SyntheticEvent } from "react";
import { reauthenticate, type Authenticator } from "../api/allauth";
import { ApiError } from "../api/client";
import { PasskeyCancelled, addPasskey, listPasskeys, passkeysSupported, removePasskey } from "../api/passkeys";
import { CryptoError } from "../crypto";
import { formatDay } from "./format";
import { formText } from "./forms";
import { passkeyProblem, signInWithPasskey } from "./passkeyLogin";
import { BAD_SECRET_KEY, ConfirmItsYou, secretKeyFor, type Me } from "./TwoStepSetup";
import { deriveAuthKey } from "./unlock";
import { useLoadedList } from "./useLoadedList";
import { errorMessage, errorStatus } from "./usePagedList";

const NOT_RIGHT = "That password or Secret Key is not right.";
const TOO_MANY = "There have been too many attempts. Wait a few minutes before you try again.";
const CANCELLED = "No passkey was made: the browser's prompt was closed or timed out.";

type Pending = { kind: "add"; name: string } | { kind: "remove"; id: number };

function passkeyName(a: Authenticator): string {
  return a.name !== undefined && a.name !== "" ? a.name : "Passkey";
}

function needsReauth(error: unknown): boolean {
  return error instanceof ApiError && error.code === "reauthentication_required";
}

export function Passkeys({ me, onChange }: { me: Me; onChange?: () => void }) {
  const nameId = useId();
  const { items: passkeys, problem, setProblem, reload: load } = useLoadedList(listPasskeys);
  const [naming, setNaming] = useState(false);
  const [confirming, setConfirming] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const supported = passkeysSupported();

  /** Runs an add or a remove; asks for the password when allauth wants fresh proof. */
  const run = async (action: Pending): Promise<void> => {
    setProblem(null);
    setBusy(true);
    setStatus(action.kind === "add" ? "Follow your browser's prompt to create the passkey…" : "Removing…");
    try {
      if (action.kind === "add") await addPasskey(action.name);
      else await removePasskey(action.id);
      setNaming(false);
      setConfirming(null);
      await load();
      onChange?.();
      setStatus(action.kind === "add" ? "Passkey added." : "Passkey removed.");
    } catch (error) {
      setStatus("");
      if (needsReauth(error)) setConfirming(action);
      else if (error instanceof PasskeyCancelled) setProblem(CANCELLED);
      else setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async (password: string, secretKeyText: string): Promise<void> => {
    const action = confirming;
    if (action === null) return;
    let secretKey: Uint8Array | undefined;
    try {
      secretKey = secretKeyFor(me, secretKeyText);
    } catch {
      setProblem(BAD_SECRET_KEY);
      return;
    }
    setProblem(null);
    setBusy(true);
    setStatus("Checking… this takes a moment, here on your device.");
    try {
      const outcome = await reauthenticate(await deriveAuthKey(me.email, password, secretKey));
      if (outcome.kind !== "signed-in") {
        setProblem(outcome.kind === "throttled" ? TOO_MANY : NOT_RIGHT);
        setStatus("");
        setBusy(false);
        return;
      }
    } catch (error) {
      setProblem(
        error instanceof CryptoError && error.code === "E_KDF_PARAMS"
          ? "This server asked for unsafe password settings, so your password was not used. Tell your practice."
          : errorStatus(error) === 429
            ? TOO_MANY
            : errorMessage(error),
      );
      setStatus("");
      setBusy(false);
      return;
    } finally {
      secretKey?.fill(0);
    }
    setConfirming(null);
    await run(action);
  };

  const onAdd = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    void run({ kind: "add", name: formText(new FormData(event.currentTarget), "name") });
  };

  return (
    <section aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">Passkeys</h2>
      <p>
        A passkey signs you in with this device&apos;s screen lock (fingerprint, face or PIN) instead of your password,
        and counts as two-step verification. After a passkey sign-in your account&apos;s keys open only on a device
        you have told to remember them.
      </p>
      {passkeys === null && problem === null && <p className="status">Loading your passkeys…</p>}
      {passkeys !== null && passkeys.length === 0 && <p>You have no passkeys.</p>}
      {passkeys !== null && passkeys.length > 0 && (
        <ul className="access-list passkey-list">
          {passkeys.map((a) => (
            <li key={a.id ?? a.created_at} className="session-item">
              <span>
                <span className="access-what">{passkeyName(a)}</span>{" "}
                <span>added {formatDay(new Date(a.created_at * 1000).toISOString())}</span>
              </span>
              {a.id !== undefined && (
                <button
                  type="button"
                  className="button button-small button-quiet"
                  disabled={busy}
                  aria-label={`Remove passkey ${passkeyName(a)}`}
                  onClick={() => {
                    if (a.id !== undefined) void run({ kind: "remove", id: a.id });
                  }}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}

      {!supported && <p>This browser cannot make passkeys.</p>}
      {supported && !naming && confirming === null && passkeys !== null && (
        <button
          type="button"
          className="button"
          onClick={() => {
            setProblem(null);
            setStatus("");
            setNaming(true);
          }}
        >
          Add a passkey
        </button>
      )}
      {naming && confirming === null && (
        <form onSubmit={onAdd} noValidate aria-label="Add a passkey" className="inset">
          <label htmlFor={nameId}>Name (so you can tell your passkeys apart)</label>
          <input id={nameId} name="name" type="text" maxLength={100} autoComplete="off" placeholder="Work laptop" />
          <div className="actions">
            <button type="submit" className="button" disabled={busy}>
              Create passkey
            </button>
            <button
              type="button"
              className="button button-quiet"
              disabled={busy}
              onClick={() => {
                setNaming(false);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
      {confirming !== null && (
        <ConfirmItsYou
          me={me}
          busy={busy}
          why={confirming.kind === "add" ? "Adding a passkey needs your password again" : "Removing a passkey needs your password again"}
          onConfirm={(password, secretKeyText) => void confirm(password, secretKeyText)}
          onCancel={() => {
            setConfirming(null);
            setNaming(false);
          }}
        />
      )}
      <p aria-live="polite" className="status">
        {status}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}

/** "Sign in with a passkey" for the sign-in page; `onSignedIn` runs after a successful sign-in. */
export function PasskeySignInButton({ onSignedIn }: { onSignedIn: () => void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  if (!passkeysSupported()) return null;
  const start = async (): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      const outcome = await signInWithPasskey();
      const words = passkeyProblem(outcome);
      if (words === null) onSignedIn();
      else setProblem(words);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="passkey-sign-in">
      <button type="button" className="button button-quiet" disabled={busy} onClick={() => void start()}>
        Sign in with a passkey
      </button>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </div>
  );
}
