import { useId, useState, type SyntheticEvent } from "react";
import {
  accessSentence,
  dayRange,
  fetchMyAccess,
  periodRange,
  PERIODS,
  type AccessEvent,
  type Period,
  type Range,
} from "../api/audit";
import { formatWhen } from "../app/format";
import { Link } from "../app/Link";
import { errorMessage, errorStatus, usePagedList } from "../app/usePagedList";
import { ROUTES } from "../routes";

const PERIOD_LABELS: Record<Period, string> = {
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "12m": "Last 12 months",
  all: "All time",
  custom: "Choose dates…",
};

function isPeriod(value: string): value is Period {
  return (PERIODS as readonly string[]).includes(value);
}

function AccessItem({ event, now }: { event: AccessEvent; now: Date }) {
  return (
    <li>
      <span className="access-what">{accessSentence(event)}</span>
      <span aria-hidden="true"> · </span>
      <time dateTime={event.at}>{formatWhen(event.at, now)}</time>
    </li>
  );
}

export function MyAccessPage() {
  const periodId = useId();
  const fromId = useId();
  const toId = useId();
  const [period, setPeriod] = useState<Period>("all");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [rangeProblem, setRangeProblem] = useState<string | null>(null);
  const [range, setRange] = useState<Range>(() => periodRange("all"));
  const list = usePagedList(range, fetchMyAccess);
  const status = errorStatus(list.error);
  const now = new Date();

  const choosePeriod = (value: string): void => {
    if (!isPeriod(value)) return;
    setPeriod(value);
    setRangeProblem(null);
    if (value !== "custom") setRange(periodRange(value));
  };

  const showDates = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const chosen = dayRange(from, to);
    if (chosen === null) {
      setRangeProblem("Check the dates: the first day must come on or before the last.");
      return;
    }
    setRangeProblem(null);
    setRange(chosen);
  };

  if (status === 401) {
    return (
      <section className="card narrow">
        <h1>Who has seen my file</h1>
        <p>Sign in to see who at your practice has opened your file, and when.</p>
        <Link to={ROUTES.signIn} className="button">
          Sign in
        </Link>
      </section>
    );
  }

  return (
    <section className="page">
      <h1>Who has seen my file</h1>
      <p className="lead">
        Every time someone at your practice opens your file, this server writes down who it was and when. This is that
        list, newest first. Your own visits are not on it.
      </p>

      <form className="filters" onSubmit={showDates} noValidate aria-label="Period">
        <div className="field">
          <label htmlFor={periodId}>Show</label>
          <select
            id={periodId}
            value={period}
            onChange={(event) => {
              choosePeriod(event.target.value);
            }}
          >
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {PERIOD_LABELS[p]}
              </option>
            ))}
          </select>
        </div>
        {period === "custom" && (
          <>
            <div className="field">
              <label htmlFor={fromId}>From</label>
              <input
                id={fromId}
                type="date"
                value={from}
                onChange={(event) => {
                  setFrom(event.target.value);
                }}
              />
            </div>
            <div className="field">
              <label htmlFor={toId}>To</label>
              <input
                id={toId}
                type="date"
                value={to}
                onChange={(event) => {
                  setTo(event.target.value);
                }}
              />
            </div>
            <div className="field field-action">
              <button type="submit" className="button button-small">
                Show these dates
              </button>
            </div>
          </>
        )}
      </form>
      {rangeProblem !== null && (
        <p role="alert" className="problem">
          {rangeProblem}
        </p>
      )}

      <p aria-live="polite" className="status">
        {list.loading
          ? "Loading the access history…"
          : list.error !== null
            ? errorMessage(list.error)
            : list.loadingMore
              ? "Loading more…"
              : ""}
      </p>

      {!list.loading && list.error === null && list.items.length === 0 && (
        <div className="empty">
          <p>
            <strong>Nobody has opened your file {period === "all" ? "so far" : "in this period"}.</strong>
          </p>
          <p>
            When your therapist, or anyone else at your practice, opens your file, it will appear here with their name
            and the date and time.
          </p>
        </div>
      )}

      {list.items.length > 0 && (
        <ol className="access-list">
          {list.items.map((event, index) => (
            <AccessItem key={`${event.at}-${String(index)}`} event={event} now={now} />
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
