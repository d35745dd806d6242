import { useEffect, useState } from "react";
import { fetchTransparency, hoursText, yearsText, type ChainStatus, type Transparency } from "../api/transparency";
import { formatDay, formatWhen } from "../app/format";

function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + (/[.!?]$/.test(trimmed) ? "" : ".");
}

function ChainSentence({ chain }: { chain: ChainStatus }) {
  const when = chain.checked_at === null ? null : formatWhen(chain.checked_at);
  const counted =
    chain.events === null ? "" : ` (${String(chain.events)} ${chain.events === 1 ? "entry" : "entries"} checked)`;
  switch (chain.state) {
    case "intact":
      return (
        <p>
          <strong className="state state-good">Intact.</strong> The last check{when === null ? "" : `, on ${when},`} found
          every entry in place and unaltered{counted}.
        </p>
      );
    case "broken":
      return (
        <p>
          <strong className="state state-bad">Broken.</strong> The last check{when === null ? "" : `, on ${when},`} found
          that entries were altered or removed{counted}. Ask your practice what happened.
        </p>
      );
    case "not yet checked":
      return (
        <p>
          <strong className="state">Not yet checked.</strong> The history has not been checked on this server yet.
        </p>
      );
  }
}

function Facts({ facts }: { facts: Transparency }) {
  return (
    <>
      <h2>Locked in your browser before it is sent</h2>
      <p>Only you and your care team (and your practice&apos;s offline recovery key) can open these:</p>
      <ul>
        {facts.sealed_in_browser.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>

      <h2>What this server can see</h2>
      <p>To work at all, the server needs some facts in the clear. It sees:</p>
      <ul>
        {facts.server_sees.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>

      <h2>Where your data lives</h2>
      <dl className="facts">
        <dt>Records</dt>
        <dd>{sentence(facts.database)}</dd>
        <dt>Files</dt>
        <dd>{sentence(facts.files)}</dd>
        <dt>Other companies</dt>
        <dd>{sentence(facts.third_parties)}</dd>
        <dt>Signing out</dt>
        <dd>
          You are signed out after {facts.idle_logoff_client_minutes} minutes without activity (practice staff after{" "}
          {facts.idle_logoff_staff_minutes}), and automatically {hoursText(facts.session_lifetime_hours)} after you sign in
          in any case.
        </dd>
        <dt>Two-step verification</dt>
        <dd>{sentence(facts.two_step_verification)}</dd>
      </dl>

      <h2>Your practice&apos;s security code</h2>
      {facts.practice_security_code === null ? (
        <p>This server has not been set up for a practice yet.</p>
      ) : (
        <>
          <p>
            Your practice signs every key it vouches for with its own signing key, which your browser remembers the
            first time it sees it. This code identifies that signing key. It should match the code your practice
            publishes on its website or paperwork. If it does not, tell your practice: someone may be trying to read
            your messages.
          </p>
          <p className="security-code" aria-label="Practice security code">
            {facts.practice_security_code.map((group, index) => (
              // The groups may repeat, so their position is part of the key.
              <span key={`${String(index)}-${group}`}>{group} </span>
            ))}
          </p>
        </>
      )}

      <h2>The access history</h2>
      <p>
        Every time someone opens, changes or exports a client&apos;s record, the server writes it into a tamper-evident
        history: each entry is linked to the one before, so a removed or altered entry shows. Entries are kept for{" "}
        {yearsText(facts.audit_retention_years)}.
      </p>
      <ChainSentence chain={facts.audit_chain} />

      <h2>Backups</h2>
      <dl className="facts">
        <dt>Last backup</dt>
        <dd>
          {facts.last_backup_at === null
            ? "No backup has been recorded on this server yet."
            : formatDay(facts.last_backup_at)}
        </dd>
        <dt>Last restore drill</dt>
        <dd>
          {facts.last_restore_drill_at === null
            ? "No restore drill has been recorded on this server yet."
            : formatDay(facts.last_restore_drill_at)}
        </dd>
      </dl>

      <p className="muted">Software: Quietroom {facts.version}</p>
    </>
  );
}

export function ProtectionPage() {
  const [facts, setFacts] = useState<Transparency | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let live = true;
    fetchTransparency().then(
      (value) => {
        if (live) setFacts(value);
      },
      () => {
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  return (
    <article className="prose">
      <h1>How your data is protected</h1>
      <p className="lead">
        Your messages, forms, notes about you and files are locked in your browser and your therapist&apos;s before
        they leave the device. This server stores only sealed data it cannot open.
      </p>
      <h2>Who can read what you write</h2>
      <ul>
        <li>You, and the therapists on your care team.</li>
        <li>
          Your practice, through a recovery key it keeps offline, so that your record survives a lost password, as the
          law requires.
        </li>
        <li>Nobody else: not the hosting company, and not someone who copies this server.</li>
      </ul>
      <p className="muted" aria-live="polite">
        {facts === null && !failed && "Reading this server's settings…"}
        {failed && "The server could not be reached just now, so its live settings cannot be shown. Try again later."}
        {facts !== null && "The rest of this page is read from this server's own settings and records."}
      </p>
      {facts !== null && <Facts facts={facts} />}
    </article>
  );
}
