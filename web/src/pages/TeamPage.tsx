import { useEffect, useId, useState, type SyntheticEvent } from "react";
import { ApiError } from "../api/client";
import { fetchPendingCertificates, fetchConfigs, uploadCertificate, type PendingCert } from "../api/directory";
import { createInvitation, invitableRoles, listInvitations, revokeInvitation, type Invitation, type InvitedRole } from "../api/invitations-admin";
import { listRecoveryRequests, postRecoveryTransfer, type OpenRecoveryRequest, type RecoveryTransferUpload } from "../api/recovery";
import { authSession, reauthenticate } from "../api/allauth";
import { fetchSession } from "../api/session";
import {
  CRISIS_MAX,
  addToCareTeam,
  fetchCareTeams,
  fetchMessagingSettings,
  removeFromCareTeam,
  saveMessagingSettings,
  type CareTeamClient,
  type CareTeams,
} from "../api/messagingSettings";
import { CryptoError, fromB64url, groupDigits, parseSecretKey, recoveryTransferCode } from "../crypto";
import { accountInfo, type AccountInfo } from "../app/keys/account";
import { useKeySession } from "../app/keys/context";
import type { KeySession } from "../app/keys/types";
import { formText } from "../app/forms";
import { Link } from "../app/Link";
import { deriveAuthKey } from "../app/unlock";
import { canConfirm, confirmPending, currentPrkPub, memberCode, readSheetSeed, recoveryTransfer } from "../app/verification/issue";
import { ROUTES } from "../routes";

const ROLE_WORDS: Record<string, string> = { owner: "owner", admin: "administrator", therapist: "therapist", client: "client" };
const UNREACHABLE = "The server could not be reached just now. Try again in a moment.";
// Owners and admins need a passkey for these operations (AU-01); the server says so with this code.
const PASSKEY_REQUIRED = "passkey_required";

function needsPasskey(error: unknown): boolean {
  return error instanceof ApiError && error.code === PASSKEY_REQUIRED;
}

/** A problem line; the passkey rule gets a way to the Security page instead of plain words. */
function Problem({ problem }: { problem: string | null }) {
  if (problem === null) return null;
  return (
    <p role="alert" className="problem">
      {problem === PASSKEY_REQUIRED ? (
        <>
          Add a passkey on your <Link to={ROUTES.security}>Security page</Link> first. Owners and administrators need one
          to invite people, confirm keys and help with account recovery.
        </>
      ) : (
        problem
      )}
    </p>
  );
}

function Digits({ digits, label }: { digits: string; label: string }) {
  return (
    <ol className="code-list" aria-label={label}>
      {groupDigits(digits).map((g, i) => (
        <li key={i}>
          <code>{g}</code>
        </li>
      ))}
    </ol>
  );
}

// ---- Invitations ---------------------------------------------------------------------------

function Invitations({ info }: { info: AccountInfo }) {
  const emailId = useId();
  const roleId = useId();
  const roles = invitableRoles(info.role);
  const [list, setList] = useState<Invitation[] | null>(null);
  const [round, setRound] = useState(0);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    listInvitations(info.practiceId).then(
      (l) => {
        if (live) setList(l);
      },
      () => {
        if (live) setProblem("The open invitations could not be loaded just now.");
      },
    );
    return () => {
      live = false;
    };
  }, [info.practiceId, round]);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const email = formText(data, "email").trim();
    const role = formText(data, "role") as InvitedRole;
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      setProblem("Enter the email address of the person you invite.");
      return;
    }
    setBusy(true);
    setProblem(null);
    setDone(null);
    createInvitation(info.practiceId, email, role).then(
      () => {
        setBusy(false);
        setDone(`Invitation sent to ${email}.`);
        form.reset();
        setRound((r) => r + 1);
      },
      (error: unknown) => {
        setBusy(false);
        setProblem(
          needsPasskey(error) ? PASSKEY_REQUIRED : error instanceof ApiError && error.status === 400 ? error.message : UNREACHABLE,
        );
      },
    );
  };

  const revoke = (inv: Invitation): void => {
    revokeInvitation(inv.id).then(
      () => {
        setDone(`The invitation to ${inv.email} can no longer be used.`);
        setRound((r) => r + 1);
      },
      () => {
        setProblem(UNREACHABLE);
      },
    );
  };

  if (roles.length === 0) return null;
  return (
    <section aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <p className="muted">
        The email names your practice and nothing else. The link works once, for 7 days.
        {info.role === "therapist" ? " A client you invite joins your care team." : ""}
      </p>
      <form onSubmit={onSubmit} noValidate aria-label="Invite someone" aria-busy={busy}>
        <label htmlFor={emailId}>Their email address</label>
        <input id={emailId} name="email" type="email" autoComplete="off" required />
        <label htmlFor={roleId}>As</label>
        <select id={roleId} name="role" defaultValue={roles[0]}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {ROLE_WORDS[r]}
            </option>
          ))}
        </select>
        <button type="submit" className="button" disabled={busy}>
          Send the invitation
        </button>
      </form>
      <p role="status" className="status">
        {done ?? ""}
      </p>
      <Problem problem={problem} />
      <h3>Open invitations</h3>
      {list === null ? (
        <p className="status">Loading…</p>
      ) : list.length === 0 ? (
        <p className="empty">None.</p>
      ) : (
        <ul className="access-list" aria-label="Open invitations">
          {list.map((inv) => (
            <li key={inv.id} className="session-item">
              <span>
                {inv.email} ({ROLE_WORDS[inv.role]}), until {new Date(inv.expires_at).toLocaleDateString()}
              </span>
              <button
                type="button"
                className="button button-small button-quiet"
                onClick={() => {
                  revoke(inv);
                }}
              >
                Cancel invitation to {inv.email}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- Pending certificates ------------------------------------------------------------------

function PendingPerson({ session, pending, onDone }: { session: KeySession; pending: PendingCert; onDone: (msg: string) => void }) {
  const checkId = useId();
  const [code, setCode] = useState<string | null>(null);
  const [compared, setCompared] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void memberCode(pending.user_id, fromB64url(pending.aik_pub)).then((c) => {
      if (live) setCode(c);
    });
    return () => {
      live = false;
    };
  }, [pending]);

  const confirm = (): void => {
    setBusy(true);
    setProblem(null);
    void (async () => {
      try {
        const { cert, revocation, prskWrap } = await confirmPending(session, pending);
        await uploadCertificate(session.practiceId, { cert, revocation, prsk_wrap: prskWrap });
        onDone(`${pending.display_name} is confirmed.`);
      } catch (error) {
        setBusy(false);
        setProblem(
          needsPasskey(error)
            ? PASSKEY_REQUIRED
            : error instanceof ApiError && error.status === 400
            ? `The server refused the certificate (${error.message}). Reload the page and try again.`
            : error instanceof CryptoError
              ? "The certificate could not be made on this device."
              : UNREACHABLE,
        );
      }
    })();
  };

  const name = pending.display_name;
  return (
    <li>
      <p>
        <span className="access-what">{name}</span> ({ROLE_WORDS[pending.role]}){" "}
        {pending.reason === "recovered" ? "— account recovered, new keys" : "— new account"}
      </p>
      <p>
        Ask {name} to open <strong>Verify keys</strong> and read you their own code. It must be exactly this:
      </p>
      {code === null ? <p className="status">Working out the code…</p> : <Digits digits={code} label={`${name}'s code`} />}
      <div className="check">
        <input id={checkId} type="checkbox" checked={compared} onChange={(e) => { setCompared(e.target.checked); }} />
        <label htmlFor={checkId}>I compared all 30 digits with {name}</label>
      </div>
      <button type="button" className="button" disabled={!compared || busy} onClick={confirm}>
        Confirm {name}
      </button>
      <Problem problem={problem} />
    </li>
  );
}

function PendingCertificates({ session }: { session: KeySession }) {
  const [list, setList] = useState<PendingCert[] | null>(null);
  const [round, setRound] = useState(0);
  const [done, setDone] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetchPendingCertificates(session.practiceId).then(
      (l) => {
        if (live) setList(l.filter((p) => canConfirm(session, p)));
      },
      () => {
        if (live) setProblem("The people waiting for confirmation could not be loaded just now.");
      },
    );
    return () => {
      live = false;
    };
  }, [session, round]);

  return (
    <section aria-labelledby="pending-title">
      <h2 id="pending-title">Waiting for confirmation</h2>
      <p className="muted">
        A new account (or a recovered one) gets its certificate here: it lets everyone else&apos;s device trust that
        person&apos;s keys. Compare their code by phone, video or in person, never by email or message.
      </p>
      <p role="status" className="status">
        {done ?? ""}
      </p>
      <Problem problem={problem} />
      {list === null && problem === null && <p className="status">Loading…</p>}
      {list?.length === 0 && <p className="empty">Nobody is waiting.</p>}
      <button
        type="button"
        className="button button-small button-quiet"
        onClick={() => {
          setRound((r) => r + 1);
        }}
      >
        Check again
      </button>
      {list !== null && list.length > 0 && (
        <ul className="access-list" aria-label="Waiting for confirmation">
          {list.map((p) => (
            <PendingPerson
              key={`${p.user_id}-${p.aik_pub}`}
              session={session}
              pending={p}
              onDone={(msg) => {
                setDone(msg);
                setRound((r) => r + 1);
              }}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- Recovery requests ---------------------------------------------------------------------

type RecoveryStep = { kind: "compare" } | { kind: "sheet" } | { kind: "password"; upload: RecoveryTransferUpload } | { kind: "working" };

function RecoveryRequest({ session, info, request, onDone }: { session: KeySession; info: AccountInfo; request: OpenRecoveryRequest; onDone: (msg: string) => void }) {
  const checkId = useId();
  const seedId = useId();
  const pwId = useId();
  const skId = useId();
  const [code, setCode] = useState<string | null>(null);
  const [compared, setCompared] = useState(false);
  const [step, setStep] = useState<RecoveryStep>({ kind: "compare" });
  const [problem, setProblem] = useState<string | null>(null);
  const name = request.display_name;

  useEffect(() => {
    let live = true;
    void recoveryTransferCode(request.user_id, fromB64url(request.t_pub)).then((c) => {
      if (live) setCode(c);
    });
    return () => {
      live = false;
    };
  }, [request]);

  const run = async (seedText: string): Promise<void> => {
    setStep({ kind: "working" });
    setProblem(null);
    let seed: Uint8Array;
    try {
      seed = readSheetSeed(seedText, session.practiceId);
    } catch {
      setStep({ kind: "sheet" });
      setProblem("That is not the recovery key from your practice's recovery sheet. Check every group and try again.");
      return;
    }
    try {
      const prkPub = await currentPrkPub(session, await fetchConfigs(session.practiceId));
      const upload = await recoveryTransfer(session, request, seed, prkPub);
      try {
        await postRecoveryTransfer(session.practiceId, request.id, upload);
      } catch (error) {
        if (error instanceof ApiError && error.code === "reauthentication_required") {
          // The transfer itself holds nothing secret (it is sealed to their one-time key), so
          // it waits in memory while the password is asked for.
          setStep({ kind: "password", upload });
          return;
        }
        if (needsPasskey(error)) {
          setStep({ kind: "sheet" });
          setProblem(PASSKEY_REQUIRED);
          return;
        }
        throw error;
      }
      onDone(`${name}'s account is recovered. They can continue on their device.`);
    } catch (error) {
      setStep({ kind: "sheet" });
      setProblem(
        error instanceof CryptoError && error.code === "E_CERT"
          ? "That recovery key does not belong to your practice. Check the sheet and try again."
          : error instanceof CryptoError
            ? "The recovery could not be done with this sheet."
            : UNREACHABLE,
      );
    } finally {
      seed.fill(0);
    }
  };

  const onPassword = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    if (step.kind !== "password") return;
    const upload = step.upload;
    let secretKey: Uint8Array | undefined;
    if (info.staff) {
      try {
        secretKey = parseSecretKey(formText(data, "secretKey"));
      } catch {
        setProblem("That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.");
        return;
      }
    }
    const password = formText(data, "password");
    setStep({ kind: "working" });
    void (async () => {
      try {
        const me = await authSession();
        const email = me.kind === "signed-in" ? (me.user.email ?? "") : "";
        const outcome = await reauthenticate(await deriveAuthKey(email, password, secretKey));
        if (outcome.kind !== "signed-in") {
          setStep({ kind: "password", upload });
          setProblem("That password or Secret Key is not right.");
          return;
        }
        await postRecoveryTransfer(session.practiceId, request.id, upload);
        onDone(`${name}'s account is recovered. They can continue on their device.`);
      } catch (error) {
        setStep({ kind: "password", upload });
        setProblem(needsPasskey(error) ? PASSKEY_REQUIRED : UNREACHABLE);
      } finally {
        secretKey?.fill(0);
      }
    })();
  };

  return (
    <li>
      <p>
        <span className="access-what">{name}</span> ({ROLE_WORDS[request.role]}) asks to recover their account.
      </p>
      {step.kind === "compare" && (
        <>
          <p>
            Call {name} by phone or video, make sure it is really them, and ask them to read the code on their screen.
            It must be exactly:
          </p>
          {code === null ? <p className="status">Working out the code…</p> : <Digits digits={code} label={`${name}'s recovery code`} />}
          <div className="check">
            <input id={checkId} type="checkbox" checked={compared} onChange={(e) => { setCompared(e.target.checked); }} />
            <label htmlFor={checkId}>I compared all 30 digits with {name} by phone or video</label>
          </div>
          <button type="button" className="button" disabled={!compared} onClick={() => { setStep({ kind: "sheet" }); }}>
            Continue to recovery mode
          </button>
        </>
      )}
      {step.kind === "sheet" && (
        <form
          aria-label="Recovery mode"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const input = new FormData(e.currentTarget);
            e.currentTarget.reset(); // the seed leaves the page's form at once
            void run(formText(input, "seed"));
          }}
        >
          <p className="problem">
            Recovery mode: your practice recovery key will be used on this networked computer. It can open every
            record of your practice. Do this only on a computer you trust, and prefer the offline tool when you can.
            The key stays in this tab for this one recovery and is then wiped.
          </p>
          <label htmlFor={seedId}>Practice recovery key (from the recovery sheet), or the text of its QR code</label>
          <textarea id={seedId} name="seed" rows={3} autoComplete="off" spellCheck={false} autoCapitalize="characters" />
          <button type="submit" className="button">
            Recover {name}&apos;s account
          </button>
        </form>
      )}
      {step.kind === "password" && (
        <form aria-label="Confirm it is you" noValidate onSubmit={onPassword}>
          <p>To finish, confirm it is you with your password.</p>
          <label htmlFor={pwId}>Your password</label>
          <input id={pwId} name="password" type="password" autoComplete="current-password" />
          {info.staff && (
            <>
              <label htmlFor={skId}>Your Secret Key</label>
              <input id={skId} name="secretKey" type="password" autoComplete="off" spellCheck={false} placeholder="QR1-…" />
            </>
          )}
          <button type="submit" className="button">
            Confirm and recover
          </button>
        </form>
      )}
      {step.kind === "working" && <p className="status">Working…</p>}
      <Problem problem={problem} />
    </li>
  );
}

function RecoveryRequests({ session, info }: { session: KeySession; info: AccountInfo }) {
  const [list, setList] = useState<OpenRecoveryRequest[] | null>(null);
  const [round, setRound] = useState(0);
  const [done, setDone] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    listRecoveryRequests(session.practiceId).then(
      (l) => {
        if (live) setList(l);
      },
      (error: unknown) => {
        if (!live) return;
        setList([]);
        setProblem(needsPasskey(error) ? PASSKEY_REQUIRED : null);
      },
    );
    return () => {
      live = false;
    };
  }, [session, round]);
  return (
    <section aria-labelledby="recovery-title">
      <h2 id="recovery-title">Account recovery requests</h2>
      <p role="status" className="status">
        {done ?? ""}
      </p>
      <Problem problem={problem} />
      {list === null && <p className="status">Loading…</p>}
      {list?.length === 0 && problem === null && <p className="empty">No open requests.</p>}
      {list !== null && list.length > 0 && (
        <ul className="access-list" aria-label="Account recovery requests">
          {list.map((r) => (
            <RecoveryRequest
              key={r.id}
              session={session}
              info={info}
              request={r}
              onDone={(msg) => {
                setDone(msg);
                setRound((n) => n + 1);
              }}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- Crisis resources ----------------------------------------------------------------------

function CrisisResources({ practiceId }: { practiceId: string }) {
  const textId = useId();
  const hintId = useId();
  const [text, setText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetchMessagingSettings(practiceId).then(
      (s) => {
        if (live) setText(s.crisis_resources);
      },
      () => {
        if (live) setProblem("The crisis resources could not be loaded just now.");
      },
    );
    return () => {
      live = false;
    };
  }, [practiceId]);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (text === null) return;
    if (text.length > CRISIS_MAX) {
      setProblem(`Keep the crisis resources under ${String(CRISIS_MAX)} characters.`);
      return;
    }
    setBusy(true);
    setDone("");
    setProblem(null);
    saveMessagingSettings(practiceId, { crisis_resources: text }).then(
      (saved) => {
        setBusy(false);
        setText(saved.crisis_resources);
        setDone("The crisis resources are saved.");
      },
      (error: unknown) => {
        setBusy(false);
        setProblem(needsPasskey(error) ? PASSKEY_REQUIRED : error instanceof ApiError && error.status === 400 ? error.message : UNREACHABLE);
      },
    );
  };

  return (
    <section aria-labelledby="crisis-title">
      <h2 id="crisis-title">Crisis resources</h2>
      <p className="muted" id={hintId}>
        Shown to clients beside their messages: messages are not watched around the clock, so say whom to call in
        an emergency. Plain text.
      </p>
      {text === null && problem === null && <p className="status">Loading…</p>}
      {text !== null && (
        <form onSubmit={onSubmit} noValidate aria-label="Crisis resources" aria-busy={busy}>
          <label htmlFor={textId}>Crisis resources text</label>
          <textarea
            id={textId}
            rows={5}
            maxLength={CRISIS_MAX}
            aria-describedby={hintId}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
            }}
          />
          <button type="submit" className="button" disabled={busy}>
            Save crisis resources
          </button>
        </form>
      )}
      <p role="status" className="status">
        {done}
      </p>
      <Problem problem={problem} />
    </section>
  );
}

// ---- Care teams ----------------------------------------------------------------------------

function ClientCareTeam({
  client,
  therapists,
  onChanged,
}: {
  client: CareTeamClient;
  therapists: CareTeams["therapists"];
  onChanged: (msg: string) => void;
}) {
  const selectId = useId();
  const confirmTitleId = useId();
  const [removing, setRemoving] = useState<{ user_id: string; display_name: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const onTeam = new Set(client.team.map((t) => t.user_id));
  const addable = therapists.filter((t) => !onTeam.has(t.user_id));
  const name = client.display_name;

  const failed = (error: unknown): void => {
    setBusy(false);
    setProblem(needsPasskey(error) ? PASSKEY_REQUIRED : error instanceof ApiError && error.status === 400 ? error.message : UNREACHABLE);
  };

  const onAdd = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const therapistId = formText(new FormData(event.currentTarget), "therapist");
    const therapist = addable.find((t) => t.user_id === therapistId);
    if (therapist === undefined) {
      setProblem("Choose a therapist to add.");
      return;
    }
    setBusy(true);
    setProblem(null);
    addToCareTeam(client.client_id, therapist.user_id).then(() => {
      setBusy(false);
      onChanged(`${therapist.display_name} is now on ${name}'s care team.`);
    }, failed);
  };

  const remove = (): void => {
    if (removing === null) return;
    const therapist = removing;
    setBusy(true);
    setProblem(null);
    removeFromCareTeam(client.client_id, therapist.user_id).then(() => {
      setBusy(false);
      setRemoving(null);
      onChanged(`${therapist.display_name} is no longer on ${name}'s care team.`);
    }, failed);
  };

  return (
    <li className="care-team">
      <h3>{name}</h3>
      {client.team.length === 0 ? (
        <p className="empty">Nobody is on {name}&apos;s care team.</p>
      ) : (
        <ul className="access-list" aria-label={`${name}'s care team`}>
          {client.team.map((t) => (
            <li key={t.user_id} className="session-item">
              <span>{t.display_name}</span>
              <button
                type="button"
                className="button button-small button-quiet"
                disabled={busy}
                onClick={() => {
                  setProblem(null);
                  setRemoving(t);
                }}
              >
                Remove {t.display_name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {removing !== null && (
        <div role="alertdialog" aria-modal="false" aria-labelledby={confirmTitleId} className="confirm">
          <p id={confirmTitleId}>
            Remove {removing.display_name} from {name}&apos;s care team? They stop seeing {name}&apos;s messages at once,
            including earlier ones.
          </p>
          <button type="button" className="button" disabled={busy} onClick={remove}>
            Yes, remove {removing.display_name}
          </button>{" "}
          <button
            type="button"
            className="button button-quiet"
            disabled={busy}
            onClick={() => {
              setRemoving(null);
            }}
          >
            Keep {removing.display_name}
          </button>
        </div>
      )}
      {addable.length > 0 && (
        <form onSubmit={onAdd} noValidate aria-label={`Add a therapist to ${name}'s care team`} className="inline-form">
          <label htmlFor={selectId}>Therapist to add</label>
          <select id={selectId} name="therapist" defaultValue={addable[0]?.user_id}>
            {addable.map((t) => (
              <option key={t.user_id} value={t.user_id}>
                {t.display_name}
              </option>
            ))}
          </select>
          <button type="submit" className="button button-small" disabled={busy}>
            Add therapist
          </button>
        </form>
      )}
      <Problem problem={problem} />
    </li>
  );
}

function CareTeamsSection({ practiceId }: { practiceId: string }) {
  const [teams, setTeams] = useState<CareTeams | null>(null);
  const [round, setRound] = useState(0);
  const [done, setDone] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetchCareTeams(practiceId).then(
      (t) => {
        if (live) setTeams(t);
      },
      () => {
        if (live) setProblem("The care teams could not be loaded just now.");
      },
    );
    return () => {
      live = false;
    };
  }, [practiceId, round]);

  return (
    <section aria-labelledby="care-teams-title">
      <h2 id="care-teams-title">Care teams</h2>
      <p className="muted">
        The therapists on a client&apos;s care team read and write that client&apos;s messages. Someone you add sees
        earlier messages once a member of the conversation opens it.
      </p>
      <p role="status" className="status">
        {done}
      </p>
      <Problem problem={problem} />
      {teams === null && problem === null && <p className="status">Loading…</p>}
      {teams?.clients.length === 0 && <p className="empty">No clients yet.</p>}
      {teams !== null && teams.clients.length > 0 && (
        <ul className="plain-list" aria-label="Care teams">
          {teams.clients.map((c) => (
            <ClientCareTeam
              key={c.client_id}
              client={c}
              therapists={teams.therapists}
              onChanged={(msg) => {
                setDone(msg);
                setRound((r) => r + 1);
              }}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- Page ----------------------------------------------------------------------------------

export function TeamPage() {
  const session = useKeySession();
  const [info, setInfo] = useState<AccountInfo | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    fetchSession().then(
      (s) => {
        if (live) setInfo(s === null ? null : accountInfo(s));
      },
      () => {
        if (live) setInfo(null);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  if (info === undefined) {
    return (
      <section className="page">
        <h1>Team</h1>
        <p className="status">Loading…</p>
      </section>
    );
  }
  if (info === null || !info.staff) {
    return (
      <section className="card narrow">
        <h1>Team</h1>
        <p>This page is for your practice&apos;s staff.</p>
      </section>
    );
  }
  const privileged = info.role === "owner" || info.role === "admin";
  return (
    <section className="page">
      <h1>Team</h1>
      <Invitations info={info} />
      {privileged && (
        <>
          <CareTeamsSection practiceId={info.practiceId} />
          <CrisisResources practiceId={info.practiceId} />
        </>
      )}
      {session === null ? (
        <p className="notice">
          <Link to={ROUTES.signIn}>Unlock your account</Link> to confirm new people and help with account recovery.
        </p>
      ) : (
        <>
          <PendingCertificates session={session} />
          {privileged && <RecoveryRequests session={session} info={info} />}
        </>
      )}
    </section>
  );
}
