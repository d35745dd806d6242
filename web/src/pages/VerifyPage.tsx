import { useCallback, useEffect, useId, useMemo, useState } from "react";
import { fetchDirectory, type DirectoryEntry } from "../api/directory";
import { fromB64url, groupDigits, practiceSecurityCode } from "../crypto";
import type { KeySession } from "../app/keys/types";
import { useKeySession } from "../app/keys/context";
import { Locked } from "../app/verification/Locked";
import { memberCode } from "../app/verification/issue";
import { SafetyNumber } from "../app/verification/SafetyNumber";
import { acknowledgeChange, changeWarning, checkPeer, directoryFrom, failedCheck, markVerified, type PeerState } from "../app/verification/pins";

interface Person {
  readonly entry: DirectoryEntry;
  readonly state: PeerState;
}

/** Whom this person works with: a client their care team, a therapist their clients, owners and
 * admins everyone (the directory already shows each only whom they may see). */
function worksWith(session: KeySession, entry: DirectoryEntry): boolean {
  if (entry.user_id === session.userId || entry.removed) return false;
  if (session.role === "client") return entry.role === "therapist";
  if (session.role === "therapist") return entry.role === "client";
  return true;
}

function PracticeCode({ session }: { session: KeySession }) {
  const [code, setCode] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void practiceSecurityCode(session.practiceId, session.prskPub).then((c) => {
      if (live) setCode(c);
    });
    return () => {
      live = false;
    };
  }, [session]);
  return (
    <section aria-labelledby="practice-code">
      <h2 id="practice-code">Your practice&apos;s security code</h2>
      <p>
        Every device of everyone in your practice shows the same code. Your practice can publish it (on its website or
        intake papers): if yours differs, tell your practice before you write anything.
      </p>
      {code === null ? (
        <p className="status">Working out the code…</p>
      ) : (
        <ol className="code-list" aria-label="Practice security code">
          {groupDigits(code).map((g, i) => (
            <li key={i}>
              <code>{g}</code>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function OwnCode({ session }: { session: KeySession }) {
  const [code, setCode] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void memberCode(session.userId, session.account.aikPub).then((c) => {
      if (live) setCode(c);
    });
    return () => {
      live = false;
    };
  }, [session]);
  return (
    <section aria-labelledby="own-code">
      <h2 id="own-code">Your own code</h2>
      <p>
        When your practice confirms your new account (or your recovered one), they ask you to read this code to them by
        phone, video or in person.
      </p>
      {code === null ? (
        <p className="status">Working out the code…</p>
      ) : (
        <ol className="code-list" aria-label="Your own code">
          {groupDigits(code).map((g, i) => (
            <li key={i}>
              <code>{g}</code>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function StateWord({ state }: { state: PeerState }) {
  if (state.kind === "pinned") {
    return state.verified ? <span className="state state-good">Verified</span> : <span className="state">Not yet verified</span>;
  }
  if (state.kind === "changed") return <span className="state state-bad">Security code changed</span>;
  if (state.kind === "no-keys") return <span className="state">Has not set up their account yet</span>;
  const failed = failedCheck(state);
  if (failed !== null) return <span className="state state-bad">Their keys failed a check ({failed}): tell your practice</span>;
  return <span className="state">Waiting for the practice to confirm their account</span>;
}

function Compare({ session, person, onDone }: { session: KeySession; person: Person & { state: Extract<PeerState, { kind: "pinned" }> }; onDone: () => void }) {
  const checkId = useId();
  const [compared, setCompared] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const me = useMemo(() => ({ userId: session.userId, aikPub: session.account.aikPub }), [session]);
  const peer = useMemo(() => ({ userId: person.entry.user_id, aikPub: fromB64url(person.state.aikPub) }), [person]);
  const name = person.entry.display_name;

  const set = (verified: boolean): void => {
    setBusy(true);
    setProblem(null);
    markVerified(session, peer.userId, person.state.aikPub, verified).then(
      (ok) => {
        setBusy(false);
        if (ok) onDone();
        else setProblem(`${name}'s keys changed meanwhile. Look again.`);
      },
      () => {
        setBusy(false);
        setProblem("This could not be saved on this device. Try again.");
      },
    );
  };

  return (
    <div className="inset">
      <SafetyNumber me={me} peer={peer} peerName={name} />
      <p>
        Compare <strong>all 12 groups</strong> with {name}: read them aloud to each other at the start of a video
        session, or scan the QR code from their screen when you meet. A few groups are not enough.
      </p>
      {person.state.verified ? (
        <button type="button" className="button button-quiet" disabled={busy} onClick={() => { set(false); }}>
          Mark as not verified
        </button>
      ) : (
        <>
          <div className="check">
            <input id={checkId} type="checkbox" checked={compared} onChange={(e) => { setCompared(e.target.checked); }} />
            <label htmlFor={checkId}>{name} and I compared all 12 groups and they are the same</label>
          </div>
          <button type="button" className="button" disabled={!compared || busy} onClick={() => { set(true); }}>
            Mark as verified
          </button>
        </>
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </div>
  );
}

async function loadPeople(session: KeySession): Promise<Person[]> {
  const answer = await fetchDirectory(session.practiceId);
  const directory = directoryFrom(session.practiceId, session.prskPub, answer);
  const out: Person[] = [];
  for (const entry of answer.entries.filter((e) => worksWith(session, e))) {
    out.push({ entry, state: await checkPeer(session, entry, directory) });
  }
  return out;
}

function Verify({ session }: { session: KeySession }) {
  const [people, setPeople] = useState<Person[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  // Bumped to read the directory again (after a change was acknowledged or a mark saved).
  const [round, setRound] = useState(0);
  const load = useCallback((): void => {
    setRound((r) => r + 1);
  }, []);

  useEffect(() => {
    let live = true;
    loadPeople(session).then(
      (out) => {
        if (live) setPeople(out);
      },
      () => {
        if (live) setProblem("The people you work with could not be loaded just now. Try again in a moment.");
      },
    );
    return () => {
      live = false;
    };
  }, [session, round]);

  const changed = people?.find((p) => p.state.kind === "changed");
  if (changed !== undefined && changed.state.kind === "changed") {
    const state = changed.state;
    return (
      <section className="card narrow" role="alertdialog" aria-labelledby="changed-title" aria-describedby="changed-text">
        <h1 id="changed-title">A security code changed</h1>
        <p id="changed-text" className="problem">
          {changeWarning(changed.entry.display_name, state.cert)}
        </p>
        <p>
          This is expected when their account was recovered or their keys were replaced. If you did not expect it, ask
          them (by phone or in a session, not by message) before you share anything new, then compare your safety number
          again.
          {state.wasVerified ? " You had verified them before: that no longer holds for the new code." : ""}
        </p>
        <button
          type="button"
          className="button"
          onClick={() => {
            void acknowledgeChange(session, state).then(load, load);
          }}
        >
          I understand
        </button>
      </section>
    );
  }

  return (
    <section className="page">
      <h1>Verify keys</h1>
      <p>
        Your messages and notes are locked to the keys of the people they are for. Comparing a safety number with
        someone proves that nobody, not even the server, slipped in a key of their own.
      </p>
      <PracticeCode session={session} />
      <OwnCode session={session} />
      <h2>People you work with</h2>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {people === null && problem === null && <p className="status">Checking their keys…</p>}
      {people?.length === 0 && <p className="empty">Nobody yet.</p>}
      {people !== null && people.length > 0 && (
        <ul className="access-list" aria-label="People you work with">
          {people.map((person) => (
            <li key={person.entry.user_id}>
              <span className="access-what">{person.entry.display_name}</span> <StateWord state={person.state} />
              {person.state.kind === "pinned" && (
                <>
                  {" "}
                  <button
                    type="button"
                    className="link-button link-button-plain disclosure"
                    aria-expanded={open === person.entry.user_id}
                    onClick={() => {
                      setOpen(open === person.entry.user_id ? null : person.entry.user_id);
                    }}
                  >
                    Compare safety number with {person.entry.display_name}
                  </button>
                  {open === person.entry.user_id && (
                    <Compare
                      session={session}
                      person={{ entry: person.entry, state: person.state }}
                      onDone={load}
                    />
                  )}
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <p className="hint">
        &ldquo;Verified&rdquo; is remembered on this device only for now: on a new device, compare again.
      </p>
    </section>
  );
}

export function VerifyPage() {
  const session = useKeySession();
  if (session === null) return <Locked title="Verify keys" what="verify keys" />;
  return <Verify session={session} />;
}
