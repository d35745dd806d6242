// The audit trail as the web client reads it: a client's own access history and the staff
// review. Plain-language wording for action codes and roles lives here, in one place.
import { z } from "zod";
import { apiRequest } from "./client";

const isoDateTime = z.iso.datetime({ offset: true });
const cursor = z.number().int().positive().nullable();

export const OUTCOMES = ["allowed", "denied", "failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const accessEventSchema = z.strictObject({
  at: isoDateTime,
  actor_name: z.string(),
  actor_role: z.string(),
  action: z.string(),
  object_type: z.string(),
});

export const accessPageSchema = z.strictObject({
  items: z.array(accessEventSchema),
  next_before: cursor,
});

export const auditEventSchema = z.strictObject({
  seq: z.number().int().positive(),
  at: isoDateTime,
  actor_id: z.uuid().nullable(),
  actor_name: z.string(),
  actor_role: z.string(),
  device_id: z.uuid().nullable(),
  practice_id: z.uuid().nullable(),
  client_id: z.uuid().nullable(),
  client_name: z.string(),
  action: z.string(),
  object_type: z.string(),
  object_id: z.string(),
  outcome: z.enum(OUTCOMES),
  address: z.string(),
  user_agent: z.string(),
  reason: z.string(),
});

export const auditPageSchema = z.strictObject({
  items: z.array(auditEventSchema),
  next_before: cursor,
});

export type AccessEvent = z.infer<typeof accessEventSchema>;
export type AccessPage = z.infer<typeof accessPageSchema>;
export type AuditEvent = z.infer<typeof auditEventSchema>;
export type AuditPage = z.infer<typeof auditPageSchema>;

// ---------------------------------------------------------------------------------------
// Plain language. Add a line here for every new action code the server records.

interface ActionWords {
  /** Completes "Dr. Rivera …" on the client's "Who has seen my file" page. */
  readonly client: string;
  /** A short label for the staff review table. */
  readonly staff: string;
}

const ACTIONS: ReadonlyMap<string, ActionWords> = new Map([
  ["client.profile.read", { client: "opened your profile", staff: "Opened a client's profile" }],
  ["audit.search", { client: "searched the access history", staff: "Searched the audit trail" }],
  ["audit.export", { client: "exported the access history", staff: "Exported the audit trail" }],
]);

/** The codes the review page offers as suggestions. */
export const KNOWN_ACTIONS: readonly string[] = [...ACTIONS.keys()];

export const FALLBACK_CLIENT_PHRASE = "accessed your record";

const ROLE_WORDS: ReadonlyMap<string, string> = new Map([
  ["therapist", "your therapist"],
  ["owner", "your practice's owner"],
  ["admin", "a practice administrator"],
]);

export const FALLBACK_ROLE_WORDS = "someone at your practice";

const ROLE_LABELS: ReadonlyMap<string, string> = new Map([
  ["owner", "Owner"],
  ["admin", "Administrator"],
  ["therapist", "Therapist"],
  ["client", "Client"],
]);

const OUTCOME_LABELS: Readonly<Record<Outcome, string>> = {
  allowed: "Allowed",
  denied: "Refused",
  failed: "Failed",
};

/** What someone did, as the client reads it: "opened your profile". */
export function clientPhrase(action: string): string {
  return ACTIONS.get(action)?.client ?? FALLBACK_CLIENT_PHRASE;
}

/** Who did it: their name, or their role in words when the name is empty. */
export function actorWords(name: string, role: string): string {
  const trimmed = name.trim();
  if (trimmed !== "") return trimmed;
  return ROLE_WORDS.get(role) ?? FALLBACK_ROLE_WORDS;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "Dr. Rivera opened your profile", "Your therapist accessed your record". */
export function accessSentence(event: Pick<AccessEvent, "actor_name" | "actor_role" | "action">): string {
  return capitalise(`${actorWords(event.actor_name, event.actor_role)} ${clientPhrase(event.action)}`);
}

/** The staff table's label for an action; an unknown code is shown as it is. */
export function staffActionLabel(action: string): string {
  return ACTIONS.get(action)?.staff ?? action;
}

export function roleLabel(role: string): string {
  return ROLE_LABELS.get(role) ?? role;
}

export function outcomeLabel(outcome: Outcome): string {
  return OUTCOME_LABELS[outcome];
}

// ---------------------------------------------------------------------------------------
// Query strings.

export type QueryValue = string | number | null | undefined;

/** "?a=1&b=x" from the given values in order, leaving out empty ones; "" when none remain. */
export function buildQuery(params: Readonly<Record<string, QueryValue>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const text = typeof value === "number" ? String(value) : value.trim();
    if (text !== "") search.append(key, text);
  }
  const query = search.toString();
  return query === "" ? "" : `?${query}`;
}

export interface Range {
  since?: string;
  until?: string;
}

export const PERIODS = ["7d", "30d", "12m", "all", "custom"] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

/** Local midnight at the start of a `YYYY-MM-DD` day (what `<input type="date">` gives). */
export function dayStart(day: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (match === null) return null;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const start = new Date(year, month - 1, date);
  if (start.getFullYear() !== year || start.getMonth() !== month - 1 || start.getDate() !== date) return null;
  return start;
}

/** From the start of `from` up to the end of `to` (both local days, both optional). Null when
 * a date is malformed or the range runs backwards. */
export function dayRange(from: string, to: string): Range | null {
  const range: Range = {};
  if (from.trim() !== "") {
    const start = dayStart(from);
    if (start === null) return null;
    range.since = start.toISOString();
  }
  if (to.trim() !== "") {
    const end = dayStart(to);
    if (end === null) return null;
    end.setDate(end.getDate() + 1); // `until` is exclusive: include the whole last day
    range.until = end.toISOString();
  }
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) return null;
  return range;
}

/** The range for one of the preset periods, ending now. */
export function periodRange(period: Exclude<Period, "custom">, now: Date = new Date()): Range {
  switch (period) {
    case "7d":
      return { since: new Date(now.getTime() - 7 * DAY_MS).toISOString() };
    case "30d":
      return { since: new Date(now.getTime() - 30 * DAY_MS).toISOString() };
    case "12m": {
      const start = new Date(now.getTime());
      start.setFullYear(start.getFullYear() - 1);
      return { since: start.toISOString() };
    }
    case "all":
      return {};
  }
}

export interface EventFilters {
  actor: string;
  client: string;
  action: string;
  outcome: "" | Outcome;
  from: string;
  to: string;
}

export const NO_FILTERS: EventFilters = { actor: "", client: "", action: "", outcome: "", from: "", to: "" };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTION_PATTERN = /^[a-z0-9_.]{1,64}$/;

/** What is wrong with the filters, in words for the form; empty when they can be sent. */
export function filterProblems(filters: EventFilters): string[] {
  const problems: string[] = [];
  if (filters.actor.trim() !== "" && !UUID_PATTERN.test(filters.actor.trim())) {
    problems.push("The person ID should look like 123e4567-e89b-42d3-a456-426614174000.");
  }
  if (filters.client.trim() !== "" && !UUID_PATTERN.test(filters.client.trim())) {
    problems.push("The client ID should look like 123e4567-e89b-42d3-a456-426614174000.");
  }
  if (filters.action.trim() !== "" && !ACTION_PATTERN.test(filters.action.trim())) {
    problems.push("The action is a code such as client.profile.read.");
  }
  if (dayRange(filters.from, filters.to) === null) {
    problems.push("Check the dates: the first day must come on or before the last.");
  }
  return problems;
}

/** The API's query parameters for a set of filters (dates become exact instants). */
export function filterParams(filters: EventFilters): Record<string, QueryValue> {
  const range = dayRange(filters.from, filters.to) ?? {};
  return {
    actor: filters.actor,
    client: filters.client,
    action: filters.action,
    outcome: filters.outcome,
    since: range.since,
    until: range.until,
  };
}

/** The download address for the current filters, for a plain `<a download>`. */
export function exportHref(filters: EventFilters, format: "csv" | "json"): string {
  return `/api/audit/events/export${buildQuery({ format, ...filterParams(filters) })}`;
}

export const ACCESS_PAGE_SIZE = 25;
export const EVENTS_PAGE_SIZE = 50;

export function fetchMyAccess(range: Range, before: number | null): Promise<AccessPage> {
  const query = buildQuery({ since: range.since, until: range.until, before, limit: ACCESS_PAGE_SIZE });
  return apiRequest(`/audit/my-access${query}`, accessPageSchema);
}

export function fetchEvents(filters: EventFilters, before: number | null): Promise<AuditPage> {
  const query = buildQuery({ ...filterParams(filters), before, limit: EVENTS_PAGE_SIZE });
  return apiRequest(`/audit/events${query}`, auditPageSchema);
}
