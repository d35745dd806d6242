import { describe, expect, it } from "vitest";
import {
  accessPageSchema,
  accessSentence,
  actorWords,
  buildQuery,
  clientPhrase,
  dayRange,
  dayStart,
  exportHref,
  FALLBACK_CLIENT_PHRASE,
  filterProblems,
  NO_FILTERS,
  periodRange,
  staffActionLabel,
} from "./audit";

describe("plain-language wording", () => {
  it("maps known action codes to phrases", () => {
    expect(clientPhrase("client.profile.read")).toBe("opened your profile");
  });

  it("falls back to a neutral phrase for codes it does not know", () => {
    expect(clientPhrase("client.notes.read")).toBe(FALLBACK_CLIENT_PHRASE);
    expect(clientPhrase("")).toBe("accessed your record");
    // Names inherited from Object.prototype are not phrases.
    expect(clientPhrase("constructor")).toBe("accessed your record");
    expect(clientPhrase("toString")).toBe("accessed your record");
  });

  it("names the person, or their role in words when the name is empty", () => {
    expect(actorWords("Dr. Rivera", "therapist")).toBe("Dr. Rivera");
    expect(actorWords("  ", "therapist")).toBe("your therapist");
    expect(actorWords("", "owner")).toBe("your practice's owner");
    expect(actorWords("", "admin")).toBe("a practice administrator");
    expect(actorWords("", "")).toBe("someone at your practice");
    expect(actorWords("", "__proto__")).toBe("someone at your practice");
  });

  it("builds a sentence that starts with a capital", () => {
    expect(accessSentence({ actor_name: "Dr. Rivera", actor_role: "therapist", action: "client.profile.read" })).toBe(
      "Dr. Rivera opened your profile",
    );
    expect(accessSentence({ actor_name: "", actor_role: "therapist", action: "something.new" })).toBe(
      "Your therapist accessed your record",
    );
  });

  it("labels actions for staff and shows unknown codes as they are", () => {
    expect(staffActionLabel("client.profile.read")).toBe("Opened a client's profile");
    expect(staffActionLabel("client.notes.read")).toBe("client.notes.read");
  });
});

describe("buildQuery", () => {
  it("leaves out empty values and keeps the order given", () => {
    expect(buildQuery({ a: "1", b: "", c: undefined, d: null, e: 5, f: "  " })).toBe("?a=1&e=5");
    expect(buildQuery({})).toBe("");
    expect(buildQuery({ before: null, limit: 25 })).toBe("?limit=25");
  });

  it("encodes what it sends", () => {
    expect(buildQuery({ since: "2026-11-25T04:02:10.996Z" })).toBe("?since=2026-11-25T04%3A02%3A10.996Z");
    expect(buildQuery({ x: "a&b=c" })).toBe("?x=a%26b%3Dc");
  });

  it("builds the export address from the current filters", () => {
    const actor = "4a481838-7402-468e-b8a3-f354abea3ca5";
    expect(exportHref(NO_FILTERS, "csv")).toBe("/api/audit/events/export?format=csv");
    const href = exportHref({ ...NO_FILTERS, actor, outcome: "denied", from: "2026-11-01", to: "2026-11-30" }, "json");
    const url = new URL(href, "http://127.0.0.1");
    expect(url.pathname).toBe("/api/audit/events/export");
    expect(url.searchParams.get("format")).toBe("json");
    expect(url.searchParams.get("actor")).toBe(actor);
    expect(url.searchParams.get("outcome")).toBe("denied");
    expect(url.searchParams.get("since")).toBe(new Date(2026, 10, 1).toISOString());
    expect(url.searchParams.get("until")).toBe(new Date(2026, 11, 1).toISOString());
    expect(url.searchParams.has("client")).toBe(false);
    expect(url.searchParams.has("action")).toBe(false);
  });
});

describe("date ranges", () => {
  it("reads YYYY-MM-DD as local midnight and refuses anything else", () => {
    expect(dayStart("2026-02-28")?.getTime()).toBe(new Date(2026, 1, 28).getTime());
    for (const bad of ["2026-02-30", "2026-2-3", "26-02-03", "", "2026-13-01", "yesterday"]) {
      expect(dayStart(bad)).toBeNull();
    }
  });

  it("covers the whole last day and refuses a backwards range", () => {
    expect(dayRange("", "")).toEqual({});
    expect(dayRange("2026-11-25", "2026-11-25")).toEqual({
      since: new Date(2026, 10, 25).toISOString(),
      until: new Date(2026, 10, 26).toISOString(),
    });
    expect(dayRange("2026-12-31", "")).toEqual({ since: new Date(2026, 11, 31).toISOString() });
    expect(dayRange("2026-11-26", "2026-11-25")).toBeNull();
    expect(dayRange("2026-11-31", "")).toBeNull();
  });

  it("ends preset periods now", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    expect(periodRange("7d", now)).toEqual({ since: "2026-11-18T12:00:00.000Z" });
    expect(periodRange("30d", now)).toEqual({ since: "2026-10-26T12:00:00.000Z" });
    expect(periodRange("12m", now)).toEqual({ since: "2025-11-25T12:00:00.000Z" });
    expect(periodRange("all", now)).toEqual({});
  });

  it("explains filters the server would refuse, before sending them", () => {
    expect(filterProblems(NO_FILTERS)).toEqual([]);
    expect(filterProblems({ ...NO_FILTERS, actor: "not-a-uuid" })).toHaveLength(1);
    expect(filterProblems({ ...NO_FILTERS, action: "Client.Profile" })).toHaveLength(1);
    expect(filterProblems({ ...NO_FILTERS, from: "2026-11-26", to: "2026-11-25" })).toHaveLength(1);
    expect(filterProblems({ ...NO_FILTERS, client: " 4A481838-7402-468E-B8A3-F354ABEA3CA5 " })).toEqual([]);
  });
});

describe("response schemas", () => {
  it("accept the server's answer and refuse extra fields", () => {
    const item = {
      at: "2026-11-25T04:02:10.996Z",
      actor_name: "Therapist",
      actor_role: "therapist",
      action: "client.profile.read",
      object_type: "client",
    };
    expect(accessPageSchema.safeParse({ items: [item], next_before: null }).success).toBe(true);
    expect(accessPageSchema.safeParse({ items: [{ ...item, actor_id: "x" }], next_before: null }).success).toBe(false);
    expect(accessPageSchema.safeParse({ items: [], next_before: 0 }).success).toBe(false);
  });
});
