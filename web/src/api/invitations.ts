// Opening an invitation (docs/api/http.md, docs/api/keys.md): the token from the link's
// fragment marks this browser session as holding the invitation, and the answer carries the
// practice's signed configs so the browser can pin its signing key before it has an account.
import { z } from "zod";
import { practiceConfigSchema } from "../crypto/schemas";
import { apiRequest } from "./client";

export const openedInvitationSchema = z.strictObject({
  email: z.string(),
  practice_name: z.string(),
  role: z.enum(["owner", "admin", "therapist", "client"]),
  practice_id: z.uuid(),
  configs: z.array(practiceConfigSchema).min(1),
});

export type OpenedInvitation = z.infer<typeof openedInvitationSchema>;

/** Throws ApiError(404) for a link that cannot be used (unknown, expired, revoked or used). */
export function openInvitation(token: string): Promise<OpenedInvitation> {
  return apiRequest("/invitations/open", openedInvitationSchema, { method: "POST", body: { token } });
}
