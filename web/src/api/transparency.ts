// The facts behind "How your data is protected" (quietroom.core.transparency), public.
import { z } from "zod";
import { apiRequest } from "./client";

const isoDateTime = z.iso.datetime({ offset: true });

export const chainStatusSchema = z.strictObject({
  state: z.enum(["intact", "broken", "not yet checked"]),
  checked_at: isoDateTime.nullable(),
  events: z.number().int().nonnegative().nullable(),
});

export const transparencySchema = z.strictObject({
  version: z.string(),
  sealed_in_browser: z.array(z.string()),
  server_sees: z.array(z.string()),
  database: z.string(),
  files: z.string(),
  third_parties: z.string(),
  session_lifetime_hours: z.number().int().nonnegative(),
  idle_logoff_staff_minutes: z.number().int().positive(),
  idle_logoff_client_minutes: z.number().int().positive(),
  two_step_verification: z.string(),
  audit_retention_years: z.number().nonnegative(),
  audit_chain: chainStatusSchema,
  last_backup_at: isoDateTime.nullable(),
  last_restore_drill_at: isoDateTime.nullable(),
  // The practice security code (crypto-protocol §6.5): 6 groups of 5 digits, null before set-up.
  practice_security_code: z.array(z.string().regex(/^\d{5}$/)).length(6).nullable(),
});

export type ChainStatus = z.infer<typeof chainStatusSchema>;
export type Transparency = z.infer<typeof transparencySchema>;

export function fetchTransparency(): Promise<Transparency> {
  return apiRequest("/transparency", transparencySchema);
}

/** "6 years", "1 year", "6.5 years": the retention as a person would say it. */
export function yearsText(years: number): string {
  const rounded = Math.round(years * 10) / 10;
  return `${String(rounded)} ${rounded === 1 ? "year" : "years"}`;
}

/** "12 hours", "1 hour". */
export function hoursText(hours: number): string {
  return `${String(hours)} ${hours === 1 ? "hour" : "hours"}`;
}
