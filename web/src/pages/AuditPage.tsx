import { useId, useState, type ReactNode, type SyntheticEvent } from "react";
import {
  exportHref,
  fetchEvents,
  filterProblems,
  KNOWN_ACTIONS,
  NO_FILTERS,
  OUTCOMES,
  outcomeLabel,
  roleLabel,
  staffActionLabel,
  type AuditEvent,
  type EventFilters,
} from "../api/audit";
import { formatTimestamp } from "../app/format";
import { ExportLinks } from "../app/ExportLinks";
import { Link } from "../app/Link";
import { errorMessage, errorStatus, usePagedList } from "../app/usePagedList";
import { ROUTES } from "../routes";

function isOutcomeFilter(value: string): value is EventFilters["outcome"] {
  return value === "" || (OUTCOMES as readonly string[]).includes(value);
}

// One table cell; the wrapper keeps its content together when the table stacks on a phone.
function Cell({ label, children }: { label: string; children: ReactNode }) {
  return (
    <td data-label={label}>
      <div className="cell">{children}</div>
    </td>
  );
}

function EventRow({ event, onOnly }: { event: AuditEvent; onOnly: (change: Partial<EventFilters>) => void }) {
  const person = event.actor_name.trim() || (event.actor_id === null ? "The server" : "Unnamed person");
  const client = event.client_name.trim() || (event.client_id === null ? "" : "Unnamed client");
  const { actor_id: actorId, client_id: clientId } = event;
  return (
    <tr>
      <Cell label="Time">
        <time dateTime={event.at}>{formatTimestamp(event.at)}</time>
      </Cell>
      <Cell label="Person">
        {person}
        {actorId !== null && (
          <button
            type="button"
            className="link-button"
            aria-label={`Show only events by ${person}`}
            onClick={() => {
              onOnly({ actor: actorId });
            }}
          >
            show only
          </button>
        )}
      </Cell>
      <Cell label="Role">{event.actor_role === "" ? "—" : roleLabel(event.actor_role)}</Cell>
      <Cell label="Action">
        {staffActionLabel(event.action)}
        <code className="code-note">{event.action}</code>
      </Cell>
      <Cell label="Client">
        {client === "" ? "—" : client}
        {clientId !== null && (
          <button
            type="button"
            className="link-button"
            aria-label={`Show only events about ${client}`}
            onClick={() => {
              onOnly({ client: clientId });
            }}
          >
            show only
          </button>
        )}
      </Cell>
      <Cell label="Outcome">
        <span className={`outcome outcome-${event.outcome}`}>{outcomeLabel(event.outcome)}</span>
      </Cell>
      <Cell label="Address">{event.address === "" ? "—" : event.address}</Cell>
    </tr>
  );
}

export function AuditPage() {
  const ids = {
    actor: useId(),
    client: useId(),
    action: useId(),
    actions: useId(),
    outcome: useId(),
    from: useId(),
    to: useId(),
  };
  const [draft, setDraft] = useState<EventFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<EventFilters>(NO_FILTERS);
  const [problems, setProblems] = useState<string[]>([]);
  const list = usePagedList(applied, fetchEvents);
  const status = errorStatus(list.error);

  const edit = (change: Partial<EventFilters>): void => {
    setDraft((prev) => ({ ...prev, ...change }));
  };

  const apply = (filters: EventFilters): void => {
    const found = filterProblems(filters);
    setProblems(found);
    if (found.length === 0) setApplied({ ...filters });
  };

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    apply(draft);
  };

  const narrow = (change: Partial<EventFilters>): void => {
    const next = { ...applied, ...change };
    setDraft(next);
    apply(next);
  };

  if (status === 401) {
    return (
      <section className="card narrow">
        <h1>Audit trail</h1>
        <p>Sign in with your practice account to review the audit trail.</p>
        <Link to={ROUTES.signIn} className="button">
          Sign in
        </Link>
      </section>
    );
  }

  if (status === 404) {
    return (
      <section className="card narrow">
        <h1>Audit trail</h1>
        <p role="alert">This page is for practice staff.</p>
        <p>
          If you are a client of the practice, you can see who has opened your file on{" "}
          <Link to={ROUTES.myAccess}>Who has seen my file</Link>.
        </p>
      </section>
    );
  }

  return (
    <section className="page page-wide">
      <h1>Audit trail</h1>
      <p className="lead">
        Who opened or changed the client records you may review, and when, newest first. Your own searches and exports
        of this trail are recorded as well.
      </p>

      <form className="filters" onSubmit={onSubmit} noValidate aria-label="Filter the audit trail">
        <div className="field">
          <label htmlFor={ids.actor}>Person ID</label>
          <input
            id={ids.actor}
            value={draft.actor}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => {
              edit({ actor: e.target.value });
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.client}>Client ID</label>
          <input
            id={ids.client}
            value={draft.client}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => {
              edit({ client: e.target.value });
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.action}>Action</label>
          <input
            id={ids.action}
            value={draft.action}
            list={ids.actions}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => {
              edit({ action: e.target.value });
            }}
          />
          <datalist id={ids.actions}>
            {KNOWN_ACTIONS.map((code) => (
              <option key={code} value={code}>
                {staffActionLabel(code)}
              </option>
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor={ids.outcome}>Outcome</label>
          <select
            id={ids.outcome}
            value={draft.outcome}
            onChange={(e) => {
              const value = e.target.value;
              if (isOutcomeFilter(value)) edit({ outcome: value });
            }}
          >
            <option value="">Any outcome</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {outcomeLabel(o)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.from}>From</label>
          <input
            id={ids.from}
            type="date"
            value={draft.from}
            onChange={(e) => {
              edit({ from: e.target.value });
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.to}>To</label>
          <input
            id={ids.to}
            type="date"
            value={draft.to}
            onChange={(e) => {
              edit({ to: e.target.value });
            }}
          />
        </div>
        <div className="field field-action">
          <button type="submit" className="button button-small">
            Apply filters
          </button>
          <button
            type="button"
            className="button button-quiet button-small"
            onClick={() => {
              setDraft(NO_FILTERS);
              apply(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {problems.length > 0 && (
        <ul role="alert" className="problem">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}

      <ExportLinks
        links={[
          { label: "Download CSV", href: exportHref(applied, "csv") },
          { label: "Download JSON", href: exportHref(applied, "json") },
        ]}
      />

      <p aria-live="polite" className="status">
        {list.loading
          ? "Loading events…"
          : list.error !== null
            ? errorMessage(list.error)
            : list.loadingMore
              ? "Loading more…"
              : `Showing ${String(list.items.length)} ${list.items.length === 1 ? "event" : "events"}${list.hasMore ? " (more available)" : ""}.`}
      </p>

      {!list.loading && list.error === null && list.items.length === 0 && (
        <p className="empty">No events match these filters.</p>
      )}

      {list.items.length > 0 && (
        <table className="audit-table">
          <caption className="visually-hidden">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Person</th>
              <th scope="col">Role</th>
              <th scope="col">Action</th>
              <th scope="col">Client</th>
              <th scope="col">Outcome</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((event) => (
              <EventRow key={event.seq} event={event} onOnly={narrow} />
            ))}
          </tbody>
        </table>
      )}

      {list.hasMore && (
        <button type="button" className="button button-quiet" onClick={list.loadMore} disabled={list.loadingMore}>
          Load more
        </button>
      )}
    </section>
  );
}
