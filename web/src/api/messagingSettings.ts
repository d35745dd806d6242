// Message notification choices (per person) and the practice's crisis resources
// (docs/api/messaging.md). Plain settings, no clinical content.
import { z } from "zod";
import { apiRequest } from "./client";

export const notificationPrefsSchema = z.strictObject({
  email_on_message: z.boolean(),
  name_sender: z.boolean(),
  neutral_sender: z.boolean(),
});
export type NotificationPrefs = z.infer<typeof notificationPrefsSchema>;

export const CRISIS_MAX = 2000;

export const messagingSettingsSchema = z.strictObject({
  crisis_resources: z.string().max(CRISIS_MAX),
});
export type MessagingSettings = z.infer<typeof messagingSettingsSchema>;

export function fetchNotificationPrefs(): Promise<NotificationPrefs> {
  return apiRequest("/me/notifications", notificationPrefsSchema);
}

export function saveNotificationPrefs(prefs: NotificationPrefs): Promise<NotificationPrefs> {
  return apiRequest("/me/notifications", notificationPrefsSchema, { method: "PUT", body: prefs });
}

export function fetchMessagingSettings(practiceId: string): Promise<MessagingSettings> {
  return apiRequest(`/practices/${practiceId}/messaging-settings`, messagingSettingsSchema);
}

export function saveMessagingSettings(practiceId: string, settings: MessagingSettings): Promise<MessagingSettings> {
  return apiRequest(`/practices/${practiceId}/messaging-settings`, messagingSettingsSchema, { method: "PUT", body: settings });
}

// ---- Care teams (owners and admins) --------------------------------------------------------

const personSchema = z.strictObject({ user_id: z.uuid(), display_name: z.string() });

export const careTeamsSchema = z.strictObject({
  clients: z.array(
    z.strictObject({
      client_id: z.uuid(),
      user_id: z.uuid(),
      display_name: z.string(),
      team: z.array(personSchema),
    }),
  ),
  therapists: z.array(personSchema),
});
export type CareTeams = z.infer<typeof careTeamsSchema>;
export type CareTeamClient = CareTeams["clients"][number];

export function fetchCareTeams(practiceId: string): Promise<CareTeams> {
  return apiRequest(`/practices/${practiceId}/care-teams`, careTeamsSchema);
}

export async function addToCareTeam(clientId: string, therapistUserId: string): Promise<void> {
  await apiRequest(`/clients/${clientId}/care-team`, z.unknown(), { method: "POST", body: { therapist_user_id: therapistUserId } });
}

export async function removeFromCareTeam(clientId: string, therapistUserId: string): Promise<void> {
  await apiRequest(`/clients/${clientId}/care-team/${therapistUserId}`, z.unknown(), { method: "DELETE" });
}
