import { describe, expect, it } from "vitest";
import { hoursText, transparencySchema, yearsText } from "./transparency";

const FACTS = {
  version: "0.1.0",
  sealed_in_browser: ["Messages"],
  server_sees: ["Your email address and name"],
  database: "a database file on your practice's own server",
  files: "encrypted files on your practice's own server",
  third_parties: "none",
  session_lifetime_hours: 12,
  idle_logoff_staff_minutes: 15,
  idle_logoff_client_minutes: 30,
  two_step_verification: "offered to everyone",
  audit_retention_years: 6.0,
  audit_chain: { state: "not yet checked", checked_at: null, events: null },
  last_backup_at: null,
  last_restore_drill_at: null,
  practice_security_code: null,
};

describe("transparency", () => {
  it("validates the server's facts strictly", () => {
    expect(transparencySchema.safeParse(FACTS).success).toBe(true);
    expect(transparencySchema.safeParse({ ...FACTS, extra: 1 }).success).toBe(false);
    const checked = { state: "intact", checked_at: "2026-11-25T04:02:10.996287+00:00", events: 3 };
    expect(transparencySchema.safeParse({ ...FACTS, audit_chain: checked }).success).toBe(true);
    expect(transparencySchema.safeParse({ ...FACTS, audit_chain: { ...checked, state: "fine" } }).success).toBe(false);
    const code = ["01234", "56789", "01234", "56789", "01234", "56789"];
    expect(transparencySchema.safeParse({ ...FACTS, practice_security_code: code }).success).toBe(true);
    const short = code.slice(1);
    expect(transparencySchema.safeParse({ ...FACTS, practice_security_code: short }).success).toBe(false);
  });

  it("says durations as a person would", () => {
    expect(yearsText(6)).toBe("6 years");
    expect(yearsText(1)).toBe("1 year");
    expect(yearsText(6.5)).toBe("6.5 years");
    expect(hoursText(12)).toBe("12 hours");
    expect(hoursText(1)).toBe("1 hour");
  });
});
