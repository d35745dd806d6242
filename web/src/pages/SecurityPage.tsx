import { useCallback, useEffect, useId, useState, type SyntheticEvent } from "react";
import { authSession, endSessions, listAuthenticators, listSessions, type Authenticator, type UserSession } from "../api/allauth";
import { browserWords, eventWords, fetchSecurityEvents, isFailure, type SecurityEvent } from "../api/security";
import { deleteDevWrap } from "../api/keys";
import { fetchSession, isClient, isStaff } from "../api/session";
import { fetchNotificationPrefs, saveNotificationPrefs, type NotificationPrefs } from "../api/messagingSettings";
import { CryptoError } from "../crypto";
import { formatDay, formatWhen } from "../app/format";
import { Link } from "../app/Link";
import { formText } from "../app/forms";
import { NewPasswordFields, checkNewPassword, clearPasswordFields } from "../app/NewPassword";
import { BAD_SECRET_KEY, TotpSetup, secretKeyFor, type Me } from "../app/TwoStepSetup";
import { useKeyActions, useKeySession } from "../app/keys/context";
import { listDevices, revokeDevice, type Devices } from "../app/keys/devices";
import { NotRightError, changeAccountPassword, storedSecretKey } from "../app/keys/password";
import type { KeySession } from "../app/keys/types";
import { errorMessage, errorStatus, usePagedList } from "../app/usePagedList";
import { ROUTES } from "../routes";
import { Passkeys } from "../app/Passkeys";
import { useLoadedList } from "../app/useLoadedList";

const ALL = {};
const NOT_RIGHT = "That password or Secret Key is not right.";
const TOO_MANY = "There have been too many attempts. Wait a few minutes before you try again.";

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

function TwoStep({ me, onSessionChange }: { me: Me; onSessionChange: () => Promise<void> }) {
  const { items: authenticators, problem, setProblem, reload: load } = useLoadedList(listAuthenticators);
  const [enrolling, setEnrolling] = useState(false);

  const hasTotp = authenticators?.some((a) => a.type === "totp") ?? false;

  return (
    <section aria-labelledby="two-step-heading">
      <h2 id="two-step-heading">Two-step verification</h2>
      <p>
        With two-step verification, signing in also needs a code from an app on your phone, so a stolen password alone
        is not enough.
      </p>
      {authenticators !== null && authenticators.length === 0 && !enrolling && (
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

      {!enrolling && authenticators !== null && !hasTotp && (
        <button
          type="button"
          className="button"
          onClick={() => {
            setProblem(null);
            setEnrolling(true);
          }}
        >
          Set up an authenticator app
        </button>
      )}

      {enrolling && (
        <TotpSetup
          me={me}
          confirmFirst
          onEnabled={() => {
            void load();
            void onSessionChange();
          }}
          onDone={() => {
            setEnrolling(false);
            void load();
          }}
          onCancel={() => {
            setEnrolling(false);
          }}
        />
      )}

      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}

// ---- Keys: password, devices, lock ------------------------------------------------------------

function UnlockFirst({ what }: { what: string }) {
  return (
    <p>
      Unlock your account to {what}. <Link to={ROUTES.signIn}>Unlock</Link>
    </p>
  );
}

function ChangePassword({ me, session }: { me: Me; session: KeySession | null }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const currentId = useId();
  const secretKeyId = useId();

  const change = async (form: HTMLFormElement, keys: KeySession): Promise<void> => {
    const data = new FormData(form);
    const current = formText(data, "currentPassword");
    const next = formText(data, "newPassword");
    const again = formText(data, "newPasswordAgain");
    let secretKey: Uint8Array | undefined;
    try {
      secretKey = secretKeyFor(me, formText(data, "secretKey"));
    } catch {
      setProblem(BAD_SECRET_KEY);
      return;
    }
    setProblem(null);
    setBusy(true);
    try {
      if (current === "") {
        setProblem("Enter your current password.");
        return;
      }
      const weak = await checkNewPassword(next, again, [me.email]);
      if (weak !== null) {
        setProblem(weak);
        return;
      }
      setStatus("Changing your password… this takes a moment, here on your device.");
      await changeAccountPassword(keys, current, next, secretKey);
      clearPasswordFields(form);
      setOpen(false);
      setStatus("Your password is changed. Use the new one from now on; your keys open with it.");
    } catch (error) {
      setStatus("");
      if (error instanceof NotRightError) setProblem(error.throttled ? TOO_MANY : NOT_RIGHT);
      else if (error instanceof CryptoError && error.code === "E_UNLOCK") setProblem(NOT_RIGHT);
      else setProblem(errorStatus(error) === 429 ? TOO_MANY : errorMessage(error));
    } finally {
      secretKey?.fill(0);
      setBusy(false);
    }
  };

  return (
    <section>
      {/* No aria-labelledby: a region named "Password" would shadow the password fields' label. */}
      <h2>Password</h2>
      <p>Your password unlocks your keys here in the browser. Changing it keeps everything you can read.</p>
      {session === null ? (
        <UnlockFirst what="change your password" />
      ) : !open ? (
        <button
          type="button"
          className="button"
          onClick={() => {
            setStatus("");
            setProblem(null);
            setOpen(true);
          }}
        >
          Change password
        </button>
      ) : (
        <form
          className="inset"
          aria-label="Change password"
          noValidate
          aria-busy={busy}
          onSubmit={(event: SyntheticEvent<HTMLFormElement>) => {
            event.preventDefault();
            if (!busy) void change(event.currentTarget, session);
          }}
        >
          <label htmlFor={currentId}>Current password</label>
          <input id={currentId} name="currentPassword" type="password" autoComplete="current-password" required />
          {me.staff && me.secretKey === undefined && (
            <>
              <label htmlFor={secretKeyId}>Secret Key</label>
              <input id={secretKeyId} name="secretKey" type="password" autoComplete="off" spellCheck={false} placeholder="QR1-…" />
            </>
          )}
          <NewPasswordFields label="New password" userInputs={[me.email]} />
          <div className="actions">
            <button type="submit" className="button" disabled={busy}>
              Change password
            </button>
            <button
              type="button"
              className="button button-quiet"
              disabled={busy}
              onClick={() => {
                setProblem(null);
                setOpen(false);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
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

function DeviceList({ session }: { session: KeySession | null }) {
  const [devices, setDevices] = useState<Devices | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const load = useCallback(async (keys: KeySession): Promise<void> => {
    try {
      setDevices(await listDevices(keys));
    } catch (error) {
      setProblem(errorMessage(error));
    }
  }, []);

  useEffect(() => {
    let live = true;
    if (session === null) return;
    listDevices(session).then(
      (found) => {
        if (live) setDevices(found);
      },
      (error: unknown) => {
        if (live) setProblem(errorMessage(error));
      },
    );
    return () => {
      live = false;
    };
  }, [session]);

  const act = async (work: () => Promise<void>, keys: KeySession): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      await load(keys);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="devices-heading">
      <h2 id="devices-heading">Your devices</h2>
      <p>
        Each browser you unlock Quietroom in gets its own device key. Remove a device you no longer use or do not
        recognise: it can then no longer open your account without your password.
      </p>
      {session === null && <UnlockFirst what="see your devices" />}
      {session !== null && devices === null && problem === null && <p className="status">Loading your devices…</p>}
      {session !== null && devices !== null && (
        <ul className="access-list device-list" aria-label="Devices">
          {devices.devices.map((d) => (
            <li key={d.deviceId} className="session-item">
              <span>
                <span className="access-what">
                  {d.thisDevice ? "This browser" : "Another browser"}
                  {d.thisDevice ? (devices.remembered ? " (remembered)" : " (not remembered)") : ""}
                </span>
                <span aria-hidden="true"> · </span>
                <span>added {formatDay(new Date(d.addedAt).toISOString())}</span>
                {d.revokedAt !== 0 && <span> · removed {formatDay(new Date(d.revokedAt).toISOString())}</span>}
              </span>
              {d.thisDevice && devices.remembered && (
                <button
                  type="button"
                  className="button button-small button-quiet"
                  disabled={busy}
                  onClick={() => {
                    void act(() => deleteDevWrap(session.deviceId), session);
                  }}
                >
                  Stop remembering this browser
                </button>
              )}
              {!d.thisDevice && d.revokedAt === 0 && (
                <button
                  type="button"
                  className="button button-small button-quiet"
                  disabled={busy}
                  onClick={() => {
                    void act(() => revokeDevice(session, d.deviceId), session);
                  }}
                >
                  Remove this device
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}

function LockNow({ session }: { session: KeySession | null }) {
  const { lock } = useKeyActions();
  return (
    <section aria-labelledby="lock-heading">
      <h2 id="lock-heading">Lock</h2>
      {session === null ? (
        <p>Your account is locked in this tab: its keys are not in memory.</p>
      ) : (
        <>
          <p>Lock your account in this tab now. The keys are forgotten; you stay signed in.</p>
          <button type="button" className="button button-quiet" onClick={lock}>
            Lock now
          </button>
        </>
      )}
    </section>
  );
}

function withKey(me: Me, secretKey: Uint8Array | undefined): Me {
  return me.staff && secretKey !== undefined ? { ...me, secretKey } : me;
}

// ---- Message notifications ---------------------------------------------------------------

const NOTIFY_CHOICES: readonly { key: keyof NotificationPrefs; label: string; hint: string; clientOnly: boolean }[] = [
  {
    key: "email_on_message",
    label: "Email me when I have a new message",
    hint: "The email only says there is a new secure message; the message itself stays here.",
    clientOnly: false,
  },
  {
    key: "name_sender",
    label: "Name my therapist in the email",
    hint: "Anyone who can see your email would see your therapist's name.",
    clientOnly: true,
  },
  {
    key: "neutral_sender",
    label: "Use a neutral sender name",
    hint: "The email comes from “Notifications” and does not name your practice, for a shared inbox.",
    clientOnly: true,
  },
];

function MessageNotifications({ client }: { client: boolean }) {
  const baseId = useId();
  const [prefs, setPrefs] = useState<NotificationPrefs | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetchNotificationPrefs().then(
      (p) => {
        if (live) setPrefs(p);
      },
      () => {
        if (live) setProblem("Your notification choices could not be loaded just now.");
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const change = (key: keyof NotificationPrefs, value: boolean): void => {
    if (prefs === null) return;
    const before = prefs;
    // The box shows the choice at once; it goes back if the server did not save it.
    setPrefs({ ...prefs, [key]: value });
    setBusy(true);
    setStatus("");
    setProblem(null);
    saveNotificationPrefs({ ...prefs, [key]: value }).then(
      (saved) => {
        setPrefs(saved);
        setBusy(false);
        setStatus("Saved.");
      },
      () => {
        setPrefs(before);
        setBusy(false);
        setProblem("That change could not be saved. Try again in a moment.");
      },
    );
  };

  return (
    <section aria-labelledby="notify-heading">
      <h2 id="notify-heading">Message notifications</h2>
      {prefs === null && problem === null && <p className="status">Loading…</p>}
      {prefs !== null && (
        <fieldset className="notify-choices" disabled={busy}>
          <legend className="visually-hidden">Message notifications</legend>
          {NOTIFY_CHOICES.filter((c) => client || !c.clientOnly).map((c) => (
            <div className="notify-choice" key={c.key}>
              <div className="check">
                <input
                  id={`${baseId}-${c.key}`}
                  type="checkbox"
                  checked={prefs[c.key]}
                  aria-describedby={`${baseId}-${c.key}-hint`}
                  onChange={(e) => {
                    change(c.key, e.target.checked);
                  }}
                />
                <label htmlFor={`${baseId}-${c.key}`}>{c.label}</label>
              </div>
              <p id={`${baseId}-${c.key}-hint`} className="muted notify-hint">
                {c.hint}
              </p>
            </div>
          ))}
        </fieldset>
      )}
      <p role="status" className="status">
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
  const keys = useKeySession();
  const [storedKey, setStoredKey] = useState<Uint8Array | undefined>(undefined);
  const [client, setClient] = useState(false);

  useEffect(() => {
    let live = true;
    if (keys === null) return;
    storedSecretKey(keys).then(
      (sk) => {
        if (live) setStoredKey(sk);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [keys]);

  useEffect(() => {
    let live = true;
    Promise.all([fetchSession(), authSession()]).then(
      ([session, auth]) => {
        if (!live) return;
        if (session === null || auth.kind !== "signed-in") setMe("signed-out");
        else {
          setMe({ email: auth.user.email ?? "", staff: isStaff(session) });
          setClient(isClient(session));
        }
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
          <TwoStep me={withKey(me, keys === null ? undefined : storedKey)} onSessionChange={onSessionChange} />
          <ChangePassword me={withKey(me, keys === null ? undefined : storedKey)} session={keys} />
          <DeviceList session={keys} />
          <LockNow session={keys} />
          <MessageNotifications client={client} />
          <Sessions onSessionChange={onSessionChange} />
          <History />
          <Passkeys me={withKey(me, keys === null ? undefined : storedKey)} />
        </>
      )}
    </section>
  );
}
