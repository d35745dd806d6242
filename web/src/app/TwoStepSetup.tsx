// Turning on two-step verification with an authenticator app (allauth TOTP), then showing the
// recovery codes once. Shared by the security page and the mandatory enrolment on /welcome.
import { useEffect, useId, useRef, useState, type SyntheticEvent } from "react";
import { activateTotp, groupSecret, reauthenticate, recoveryCodes, totpOffer, type TotpOffer } from "../api/allauth";
import { ApiError } from "../api/client";
import { CryptoError, parseSecretKey } from "../crypto";
import { QrCode } from "./QrCode";
import { formText } from "./forms";
import { deriveAuthKey } from "./unlock";
import { errorMessage, errorStatus } from "./usePagedList";

const NOT_RIGHT = "That password or Secret Key is not right.";
const TOO_MANY = "There have been too many attempts. Wait a few minutes before you try again.";
export const BAD_SECRET_KEY = "That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.";

export interface Me {
  readonly email: string;
  readonly staff: boolean;
  /** The Secret Key this device keeps (staff), so it need not be typed again. */
  readonly secretKey?: Uint8Array;
}

export function ConfirmItsYou({
  me,
  busy,
  onConfirm,
  onCancel,
  why = "Changing how you sign in needs your password again",
}: {
  me: Me;
  busy: boolean;
  onConfirm: (password: string, secretKeyText: string) => void;
  onCancel?: () => void;
  why?: string;
}) {
  const passwordId = useId();
  const secretKeyId = useId();
  const askSecretKey = me.staff && me.secretKey === undefined;
  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const password = formText(data, "password");
    const secretKey = formText(data, "secretKey");
    const field = form.elements.namedItem("password");
    if (field instanceof HTMLInputElement) field.value = "";
    onConfirm(password, secretKey);
  };
  return (
    <form onSubmit={onSubmit} noValidate aria-label="Confirm it's you" className="inset">
      <p>
        {why}
        {askSecretKey ? " and your Secret Key" : ""}.
      </p>
      <label htmlFor={passwordId}>Password</label>
      <input id={passwordId} name="password" type="password" autoComplete="current-password" required />
      {askSecretKey && (
        <>
          <label htmlFor={secretKeyId}>Secret Key</label>
          <input id={secretKeyId} name="secretKey" type="password" autoComplete="off" spellCheck={false} placeholder="QR1-…" />
        </>
      )}
      <div className="actions">
        <button type="submit" className="button" disabled={busy}>
          Continue
        </button>
        {onCancel !== undefined && (
          <button type="button" className="button button-quiet" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** The Secret Key to derive with: the one this device keeps, else the typed one. Throws for bad text. */
export function secretKeyFor(me: Me, typed: string): Uint8Array | undefined {
  if (!me.staff) return undefined;
  if (me.secretKey !== undefined) return Uint8Array.from(me.secretKey);
  return parseSecretKey(typed);
}

type Step =
  | { kind: "starting" }
  | { kind: "confirm"; busy: boolean }
  | { kind: "scan"; offer: TotpOffer; busy: boolean }
  | { kind: "codes"; codes: string[] };

/**
 * The enrolment steps. With `confirmFirst` it asks for the password before anything (the
 * security page); otherwise it asks only when allauth wants a fresh re-authentication.
 */
export function TotpSetup({
  me,
  confirmFirst,
  onEnabled,
  onDone,
  onCancel,
}: {
  me: Me;
  confirmFirst: boolean;
  onEnabled?: () => void;
  onDone: () => void;
  onCancel?: () => void;
}) {
  const codeId = useId();
  const [step, setStep] = useState<Step>(confirmFirst ? { kind: "confirm", busy: false } : { kind: "starting" });
  const [status, setStatus] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  const offered = (fresh: TotpOffer | null): void => {
    if (fresh === null) onDone(); // enrolled already
    else setStep({ kind: "scan", offer: fresh, busy: false });
  };
  const notOffered = (error: unknown): void => {
    // 401: allauth wants a fresh re-authentication first.
    if (!(error instanceof ApiError && error.status === 401)) setProblem(errorMessage(error));
    setStep({ kind: "confirm", busy: false });
  };
  const offer = async (): Promise<void> => {
    try {
      offered(await totpOffer());
    } catch (error) {
      notOffered(error);
    }
  };

  useEffect(() => {
    if (!confirmFirst) totpOffer().then(offered, notOffered);
    // Runs once, for the first step only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (step.kind === "scan" && !step.busy) codeRef.current?.focus();
  }, [step]);

  const confirm = async (password: string, secretKeyText: string): Promise<void> => {
    let secretKey: Uint8Array | undefined;
    try {
      secretKey = secretKeyFor(me, secretKeyText);
    } catch {
      setProblem(BAD_SECRET_KEY);
      return;
    }
    setProblem(null);
    setStep({ kind: "confirm", busy: true });
    setStatus("Unlocking… this takes a moment, here on your device.");
    try {
      const outcome = await reauthenticate(await deriveAuthKey(me.email, password, secretKey));
      if (outcome.kind !== "signed-in") {
        setProblem(outcome.kind === "throttled" ? TOO_MANY : NOT_RIGHT);
        setStep({ kind: "confirm", busy: false });
        return;
      }
      await offer();
    } catch (error) {
      setProblem(
        error instanceof CryptoError && error.code === "E_KDF_PARAMS"
          ? "This server asked for unsafe password settings, so your password was not used. Tell your practice."
          : errorStatus(error) === 429
            ? TOO_MANY
            : errorMessage(error),
      );
      setStep({ kind: "confirm", busy: false });
    } finally {
      secretKey?.fill(0);
      setStatus("");
    }
  };

  const activate = async (current: TotpOffer, code: string): Promise<void> => {
    setProblem(null);
    setStep({ kind: "scan", offer: current, busy: true });
    try {
      await activateTotp(code);
      onEnabled?.();
      setStep({ kind: "codes", codes: await recoveryCodes() });
    } catch (error) {
      if (error instanceof ApiError && error.code === "incorrect_code") {
        setProblem("That code is not right. Codes change every 30 seconds: try the newest one.");
      } else if (error instanceof ApiError && error.status === 401) {
        setProblem("That took too long, so we need your password again.");
        setStep({ kind: "confirm", busy: false });
        return;
      } else {
        setProblem(errorMessage(error));
      }
      setStep({ kind: "scan", offer: current, busy: false });
    }
  };

  return (
    <>
      {step.kind === "starting" && <p className="status">Preparing…</p>}
      {step.kind === "confirm" && (
        <ConfirmItsYou
          me={me}
          busy={step.busy}
          onConfirm={(password, secretKeyText) => {
            void confirm(password, secretKeyText);
          }}
          {...(onCancel === undefined
            ? {}
            : {
                onCancel: () => {
                  setProblem(null);
                  onCancel();
                },
              })}
        />
      )}

      {step.kind === "scan" && (
        <div className="inset">
          <h3>Add Quietroom to your authenticator app</h3>
          <ol>
            <li>Open an authenticator app on your phone and choose to add an account.</li>
            <li>Scan this code, or type the key below into the app.</li>
            <li>Enter the 6-digit code the app then shows.</li>
          </ol>
          <QrCode text={step.offer.totpUrl} label="QR code for your authenticator app" />
          <p>
            Key to type instead: <code className="totp-secret">{groupSecret(step.offer.secret)}</code>
          </p>
          <form
            noValidate
            aria-label="Confirm the app"
            onSubmit={(event) => {
              event.preventDefault();
              const code = formText(new FormData(event.currentTarget), "code").replace(/\s/g, "");
              if (!/^\d{6}$/.test(code)) {
                setProblem("Enter the 6-digit code from your app.");
                return;
              }
              void activate(step.offer, code);
            }}
          >
            <label htmlFor={codeId}>Code from the app</label>
            <input
              ref={codeRef}
              id={codeId}
              name="code"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={7}
              required
            />
            <button type="submit" className="button" disabled={step.busy}>
              Turn on two-step verification
            </button>
          </form>
        </div>
      )}

      {step.kind === "codes" && (
        <div className="inset recovery-codes printable">
          <h3>Two-step verification is on. Save your recovery codes</h3>
          <p>
            If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Print them
            or write them down and keep them somewhere safe. They are shown only this once.
          </p>
          <ul className="code-list" aria-label="Recovery codes">
            {step.codes.map((code) => (
              <li key={code}>
                <code>{code}</code>
              </li>
            ))}
          </ul>
          <div className="actions no-print">
            <button
              type="button"
              className="button button-quiet"
              onClick={() => {
                window.print();
              }}
            >
              Print the codes
            </button>
            <button type="button" className="button" onClick={onDone}>
              I have saved them
            </button>
          </div>
        </div>
      )}

      <p aria-live="polite" className="status">
        {status}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </>
  );
}
