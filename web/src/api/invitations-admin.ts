// Invitations as the people who send them see them (docs/api/http.md "Invitations"): owners
// invite administrators and therapists, administrators invite therapists, therapists invite their
// own clients. The token never comes back here: it only travels in the email.
import { z } from "zod";
import { apiRequest } from "./client";

export const invitationSchema = z.strictObject({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(["admin", "therapist", "client"]),
  created_at: z.string(),
  expires_at: z.string(),
});

export type Invitation = z.infer<typeof invitationSchema>;
export type InvitedRole = Invitation["role"];

export async function listInvitations(practiceId: string): Promise<Invitation[]> {
  return apiRequest(`/practices/${practiceId}/invitations`, z.array(invitationSchema));
}

export async function createInvitation(practiceId: string, email: string, role: InvitedRole): Promise<Invitation> {
  return apiRequest(`/practices/${practiceId}/invitations`, invitationSchema, { method: "POST", body: { email, role } });
}

export async function revokeInvitation(invitationId: string): Promise<void> {
  await apiRequest(`/invitations/${invitationId}`, z.unknown(), { method: "DELETE" });
}

/** Which roles this member may invite (the server enforces the same rule). */
export function invitableRoles(role: string): InvitedRole[] {
  if (role === "owner") return ["admin", "therapist"];
  if (role === "admin") return ["therapist"];
  if (role === "therapist") return ["client"];
  return [];
}
