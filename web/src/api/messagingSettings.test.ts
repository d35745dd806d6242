import { describe, expect, it } from "vitest";
import { careTeamsSchema, messagingSettingsSchema, notificationPrefsSchema } from "./messagingSettings";
import { blobStartSchema, uploadStateSchema } from "./attachments";

const ID = "0190b8a2-7c3e-7a1b-8c2d-3e4f5a6b7c8d";

describe("messaging settings answers", () => {
  it("accepts the contract's shapes and refuses anything else", () => {
    const prefs = { email_on_message: true, name_sender: false, neutral_sender: false };
    expect(notificationPrefsSchema.safeParse(prefs).success).toBe(true);
    expect(notificationPrefsSchema.safeParse({ ...prefs, extra: 1 }).success).toBe(false);
    expect(notificationPrefsSchema.safeParse({ ...prefs, name_sender: "yes" }).success).toBe(false);
    expect(messagingSettingsSchema.safeParse({ crisis_resources: "Call 988" }).success).toBe(true);
    expect(messagingSettingsSchema.safeParse({ crisis_resources: "x".repeat(2001) }).success).toBe(false);
    const person = { user_id: ID, display_name: "Dr Rivera" };
    const teams = { clients: [{ client_id: ID, user_id: ID, display_name: "Sam", team: [person] }], therapists: [person] };
    expect(careTeamsSchema.safeParse(teams).success).toBe(true);
    expect(careTeamsSchema.safeParse({ ...teams, therapists: [{ ...person, role: "therapist" }] }).success).toBe(false);
  });

  it("checks blob answers", () => {
    expect(blobStartSchema.safeParse({ blob_id: ID, length: 100, chunk_max: 8388608 }).success).toBe(true);
    expect(blobStartSchema.safeParse({ blob_id: "nope", length: 100, chunk_max: 8388608 }).success).toBe(false);
    expect(uploadStateSchema.safeParse({ received: 0, length: 10 }).success).toBe(true);
    expect(uploadStateSchema.safeParse({ received: -1, length: 10 }).success).toBe(false);
  });
});
