// Who is signed in. The shell asks once; a 401 means nobody is, which is not an error.
import { z } from "zod";
import { ApiError, apiRequest } from "./client";

export const membershipSchema = z.strictObject({
  practice_id: z.uuid(),
  practice_name: z.string(),
  role: z.string(),
});

export const sessionSchema = z.strictObject({
  user_id: z.uuid(),
  display_name: z.string(),
  memberships: z.array(membershipSchema),
  // docs/api/keys.md, "Gates": account keys state, second factor, certified current AIK.
  keys: z.enum(["none", "ready", "locked"]),
  mfa_enabled: z.boolean(),
  certified: z.boolean(),
});

export type Membership = z.infer<typeof membershipSchema>;
export type Session = z.infer<typeof sessionSchema>;

const STAFF_ROLES: ReadonlySet<string> = new Set(["owner", "admin", "therapist"]);

/** The signed-in person, or null when nobody is signed in. Other failures are thrown. */
export async function fetchSession(): Promise<Session | null> {
  try {
    return await apiRequest("/session", sessionSchema);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export function isClient(session: Session): boolean {
  return session.memberships.some((m) => m.role === "client");
}

export function isStaff(session: Session): boolean {
  return session.memberships.some((m) => STAFF_ROLES.has(m.role));
}
