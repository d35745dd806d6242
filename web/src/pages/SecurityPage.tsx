import { useCallback, useEffect, useId, useRef, useState, type SyntheticEvent } from "react";
import {
  activateTotp,
  authSession,
  endSessions,
  groupSecret,
  listAuthenticators,
  listSessions,
  reauthenticate,
  recoveryCodes,
  totpOffer,
  type Authenticator,
  type TotpOffer,
  type UserSession,
} from "../api/allauth";
import { ApiError } from "../api/client";
import { browserWords, eventWords, fetchSecurityEvents, isFailure, type SecurityEvent } from "../api/security";
import { fetchSession, isStaff } from "../api/session";
import { CryptoError, parseSecretKey } from "../crypto";
import { formatDay, formatWhen } from "../app/format";
import { Link } from "../app/Link";
import { QrCode } from "../app/QrCode";
import { formText } from "../app/forms";
import { deriveAuthKey } from "../app/unlock";
import { errorMessage, errorStatus, usePagedList } from "../app/usePagedList";
import { ROUTES } from "../routes";

const ALL = {};
const NOT_RIGHT = "That password or Secret Key is not right.";
const TOO_MANY = "There have been too many attempts. Wait a few minutes before you try again.";

interface Me {
  email: string;
  staff: boolean;
}

function fromSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

// ---- Sign-in history ---------------------------------------------------------------------

function HistoryItem({ event, now }: { event: SecurityEvent; now: Date }) {
  const failed = isFailure(event);
  return (
    <li className={failed ? "event-failed" : undefined}>
      <span className="access-what">{eventWords(event)}</span>
      <span aria-hidden="true"> · </span>
      <time dateTime={event.at}>{formatWhen(event.at, now)}</time>
      <span aria-hidden="true"> · </span>
      <span>{browserWords(event.user_agent)}</span>
      {event.address !== "" && (
        <>
          <span aria-hidden="true"> · </span>
          <span className="network">{event.address}</span>
        </>
      )}
    </li>
  );
}

function History() {
  const list = usePagedList(ALL, fetchSecurityEvents);
  const now = new Date();
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">Sign-in history</h2>
      <p>
        Every sign-in to your account, newest first, with the browser and the network it came from. If you see one that
        was not you, change your password and tell your practice.
      </p>
      <p aria-live="polite" className="status">
        {list.loading ? "Loading your sign-in history…" : list.error !== null ? errorMessage(list.error) : ""}
      </p>
      {!list.loading && list.error === null && list.items.length === 0 && (
        <p className="empty">Nothing yet: your sign-ins will appear here.</p>
      )}
      {list.items.length > 0 && (
        <ol className="access-list security-history">
          {list.items.map((event, index) => (
            <HistoryItem key={`${event.at}-${String(index)}`} event={event} now={now} />
          ))}
        </ol>
      )}
      {list.hasMore && (
        <button type="button" className="button button-quiet" onClick={list.loadMore} disabled={list.loadingMore}>
          Show more
        </button>
      )}
    </section>
  );
}

// ---- Sessions ----------------------------------------------------------------------------

function Sessions({ onSessionChange }: { onSessionChange: () => Promise<void> }) {
  const [sessions, setSessions] = useState<UserSession[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [ending, setEnding] = useState<number | null>(null);
  const now = new Date();

  useEffect(() => {
    let live = true;
    listSessions().then(
      (list) => {
        if (live) setSessions(list);
      },
      (error: unknown) => {
        if (live) setProblem(errorMessage(error));
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const end = async (id: number): Promise<void> => {
    setEnding(id);
    setProblem(null);
    try {
      const left = await endSessions([id]);
      setSessions(left);
      if (!left.some((s) => s.is_current)) await onSessionChange();
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setEnding(null);
    }
  };

  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Where you are signed in</h2>
      <p>Sign out anywhere you do not recognise, or a device you no longer use.</p>
      {sessions === null && problem === null && <p className="status">Loading your sessions…</p>}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {sessions !== null && (
        <ul className="access-list session-list">
          {sessions.map((session) => (
            <li key={session.id} className="session-item">
              <span>
                <span className="access-what">{browserWords(session.user_agent)}</span>
                <span aria-hidden="true"> · </span>
                <span className="network">{session.ip}</span>
                <span aria-hidden="true"> · </span>
                <span>
                  signed in <time dateTime={fromSeconds(session.created_at)}>{formatWhen(fromSeconds(session.created_at), now)}</time>
                </span>
              </span>
              {session.is_current ? (
                <strong className="current-session">This browser</strong>
              ) : (
                <button
                  type="button"
                  className="button button-small button-quiet"
                  disabled={ending !== null}
                  onClick={() => {
                    void end(session.id);
                  }}
                >
                  Sign out this session
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- Two-step verification ---------------------------------------------------------------

type Enrol =
  | { kind: "idle" }
  | { kind: "confirm"; busy: boolean }
  | { kind: "scan"; offer: TotpOffer; busy: boolean }
  | { kind: "codes"; codes: string[] };

function authenticatorWords(a: Authenticator): string {
  const added = `added ${formatDay(fromSeconds(a.created_at))}`;
  switch (a.type) {
    case "totp":
      return `Authenticator app, ${added}`;
    case "recovery_codes":
      return `Recovery codes: ${String(a.unused_code_count ?? 0)} of ${String(a.total_code_count ?? 0)} unused`;
    case "webauthn":
      return `Passkey${a.name !== undefined && a.name !== "" ? ` “${a.name}”` : ""}, ${added}`;
  }
}

function ConfirmItsYou({
  me,
  busy,
  onConfirm,
  onCancel,
}: {
  me: Me;
  busy: boolean;
  onConfirm: (password: string, secretKeyText: string) => void;
  onCancel: () => void;
}) {
  const passwordId = useId();
  const secretKeyId = useId();
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
      <p>Changing how you sign in needs your password again{me.staff ? " and your Secret Key" : ""}.</p>
      <label htmlFor={passwordId}>Password</label>
      <input id={passwordId} name="password" type="password" autoComplete="current-password" required />
      {me.staff && (
        <>
          <label htmlFor={secretKeyId}>Secret Key</label>
          <input
            id={secretKeyId}
            name="secretKey"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="QR1-…"
          />
        </>
      )}
      <div className="actions">
        <button type="submit" className="button" disabled={busy}>
          Continue
        </button>
        <button type="button" className="button button-quiet" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TwoStep({ me }: { me: Me }) {
  const codeId = useId();
  const [authenticators, setAuthenticators] = useState<Authenticator[] | null>(null);
  const [enrol, setEnrol] = useState<Enrol>({ kind: "idle" });
  const [status, setStatus] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  const load = useCallback(async (): Promise<void> => {
    try {
      setAuthenticators(await listAuthenticators());
    } catch (error) {
      setProblem(errorMessage(error));
    }
  }, []);

  useEffect(() => {
    let live = true;
    listAuthenticators().then(
      (list) => {
        if (live) setAuthenticators(list);
      },
      (error: unknown) => {
        if (live) setProblem(errorMessage(error));
      },
    );
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (enrol.kind === "scan" && !enrol.busy) codeRef.current?.focus();
  }, [enrol]);

  const confirm = async (password: string, secretKeyText: string): Promise<void> => {
    let secretKey: Uint8Array | undefined;
    if (me.staff) {
      try {
        secretKey = parseSecretKey(secretKeyText);
      } catch {
        setProblem("That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.");
        return;
      }
    }
    setProblem(null);
    setEnrol({ kind: "confirm", busy: true });
    setStatus("Unlocking… this takes a moment, here on your device.");
    try {
      const outcome = await reauthenticate(await deriveAuthKey(me.email, password, secretKey));
      if (outcome.kind !== "signed-in") {
        setProblem(outcome.kind === "throttled" ? TOO_MANY : NOT_RIGHT);
        setEnrol({ kind: "confirm", busy: false });
        return;
      }
      const offer = await totpOffer();
      if (offer === null) {
        setEnrol({ kind: "idle" });
        await load();
        return;
      }
      setEnrol({ kind: "scan", offer, busy: false });
    } catch (error) {
      setProblem(
        error instanceof CryptoError && error.code === "E_KDF_PARAMS"
          ? "This server asked for unsafe password settings, so your password was not used. Tell your practice."
          : errorStatus(error) === 429
            ? TOO_MANY
            : errorMessage(error),
      );
      setEnrol({ kind: "confirm", busy: false });
    } finally {
      secretKey?.fill(0);
      setStatus("");
    }
  };

  const activate = async (offer: TotpOffer, code: string): Promise<void> => {
    setProblem(null);
    setEnrol({ kind: "scan", offer, busy: true });
    try {
      await activateTotp(code);
      const codes = await recoveryCodes();
      setEnrol({ kind: "codes", codes });
      await load();
    } catch (error) {
      if (error instanceof ApiError && error.code === "incorrect_code") {
        setProblem("That code is not right. Codes change every 30 seconds: try the newest one.");
      } else if (error instanceof ApiError && error.status === 401) {
        setProblem("That took too long, so we need your password again.");
        setEnrol({ kind: "confirm", busy: false });
        return;
      } else {
        setProblem(errorMessage(error));
      }
      setEnrol({ kind: "scan", offer, busy: false });
    }
  };

  const hasTotp = authenticators?.some((a) => a.type === "totp") ?? false;

  return (
    <section aria-labelledby="two-step-heading">
      <h2 id="two-step-heading">Two-step verification</h2>
      <p>
        With two-step verification, signing in also needs a code from an app on your phone, so a stolen password alone
        is not enough.
      </p>
      {authenticators !== null && authenticators.length === 0 && enrol.kind === "idle" && (
        <p>
          <strong>Two-step verification is off.</strong>
        </p>
      )}
      {authenticators !== null && authenticators.length > 0 && (
        <ul className="plain-list">
          {authenticators.map((a, index) => (
            <li key={`${a.type}-${String(a.id ?? index)}`}>{authenticatorWords(a)}</li>
          ))}
        </ul>
      )}

      {enrol.kind === "idle" && authenticators !== null && !hasTotp && (
        <button
          type="button"
          className="button"
          onClick={() => {
            setProblem(null);
            setEnrol({ kind: "confirm", busy: false });
          }}
        >
          Set up an authenticator app
        </button>
      )}

      {enrol.kind === "confirm" && (
        <ConfirmItsYou
          me={me}
          busy={enrol.busy}
          onConfirm={(password, secretKeyText) => {
            void confirm(password, secretKeyText);
          }}
          onCancel={() => {
            setProblem(null);
            setEnrol({ kind: "idle" });
          }}
        />
      )}

      {enrol.kind === "scan" && (
        <div className="inset">
          <h3>Add Quietroom to your authenticator app</h3>
          <ol>
            <li>Open an authenticator app on your phone and choose to add an account.</li>
            <li>Scan this code, or type the key below into the app.</li>
            <li>Enter the 6-digit code the app then shows.</li>
          </ol>
          <QrCode text={enrol.offer.totpUrl} label="QR code for your authenticator app" />
          <p>
            Key to type instead: <code className="totp-secret">{groupSecret(enrol.offer.secret)}</code>
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
              void activate(enrol.offer, code);
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
            <button type="submit" className="button" disabled={enrol.busy}>
              Turn on two-step verification
            </button>
          </form>
        </div>
      )}

      {enrol.kind === "codes" && (
        <div className="inset recovery-codes">
          <h3>Two-step verification is on. Save your recovery codes</h3>
          <p>
            If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Print them
            or write them down and keep them somewhere safe. They are shown only this once.
          </p>
          <ul className="code-list" aria-label="Recovery codes">
            {enrol.codes.map((code) => (
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
            <button
              type="button"
              className="button"
              onClick={() => {
                setEnrol({ kind: "idle" });
              }}
            >
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
    </section>
  );
}

// ---- The page ----------------------------------------------------------------------------

export function SecurityPage({ onSessionChange }: { onSessionChange: () => Promise<void> }) {
  const [me, setMe] = useState<Me | "loading" | "signed-out" | "error">("loading");

  useEffect(() => {
    let live = true;
    Promise.all([fetchSession(), authSession()]).then(
      ([session, auth]) => {
        if (!live) return;
        if (session === null || auth.kind !== "signed-in") setMe("signed-out");
        else setMe({ email: auth.user.email ?? "", staff: isStaff(session) });
      },
      (error: unknown) => {
        if (live) setMe(errorStatus(error) === 401 ? "signed-out" : "error");
      },
    );
    return () => {
      live = false;
    };
  }, []);

  if (me === "signed-out") {
    return (
      <section className="card narrow">
        <h1>Security</h1>
        <p>Sign in to see where you are signed in and how your account is protected.</p>
        <Link to={ROUTES.signIn} className="button">
          Sign in
        </Link>
      </section>
    );
  }

  return (
    <section className="page">
      <h1>Security</h1>
      <p className="lead">How you sign in, where you are signed in, and every sign-in to your account.</p>
      {me === "loading" && <p className="status">Loading…</p>}
      {me === "error" && (
        <p role="alert" className="problem">
          The server gave an unexpected answer. Try again in a moment.
        </p>
      )}
      {typeof me === "object" && (
        <>
          <TwoStep me={me} />
          <Sessions onSessionChange={onSessionChange} />
          <History />
        </>
      )}
    </section>
  );
}
