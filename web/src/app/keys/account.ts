// What the key code needs to know about the signed-in person, read from `GET /api/session`.
// The key fields (`keys`, `mfa_enabled`, `certified`) arrive with the keys API; until a server
// sends them they read as unknown, never as a guess.
import type { Role } from "../../crypto";
import type { Session } from "../../api/session";

export type KeysState = "none" | "ready" | "locked";

export interface AccountInfo {
  readonly userId: string;
  readonly displayName: string;
  readonly practiceId: string;
  readonly practiceName: string;
  readonly role: Role;
  readonly staff: boolean;
  readonly keys: KeysState | null;
  readonly mfaEnabled: boolean | null;
  readonly certified: boolean | null;
}

const ROLES: readonly Role[] = ["owner", "admin", "therapist", "client"];

function field(session: Session, name: string): unknown {
  return (session as unknown as Record<string, unknown>)[name];
}

/** v1: an account belongs to one practice; null when it has no membership (yet). */
export function accountInfo(session: Session): AccountInfo | null {
  const membership = session.memberships[0];
  if (membership === undefined) return null;
  const role = ROLES.find((r) => r === membership.role);
  if (role === undefined) return null;
  const keys = field(session, "keys");
  const mfa = field(session, "mfa_enabled");
  const certified = field(session, "certified");
  return {
    userId: session.user_id,
    displayName: session.display_name,
    practiceId: membership.practice_id,
    practiceName: membership.practice_name,
    role,
    staff: role !== "client",
    keys: keys === "none" || keys === "ready" || keys === "locked" ? keys : null,
    mfaEnabled: typeof mfa === "boolean" ? mfa : null,
    certified: typeof certified === "boolean" ? certified : null,
  };
}
