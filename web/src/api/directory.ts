// The practice directory as the browser reads it (docs/api/keys.md "Directory"): members' public
// keys and signed statements, pending certificates, and certificate uploads. Everything here is
// public, signed data from an untrusted server: the envelopes are parsed with the protocol
// core's closed schemas, and callers verify signatures and chains before trusting any of it.
import { z } from "zod";
import {
  parseAekBind,
  parseDeviceList,
  parseMemberCert,
  parseMemberRevocation,
  parsePracticeConfig,
  type AekBindEnvelope,
  type DeviceList,
  type MemberCert,
  type MemberRevocation,
  type PracticeConfig,
} from "../crypto";
import { apiRequest } from "./client";

/** A zod schema that runs one of the protocol core's envelope parsers (closed, suite-checked). */
export function envelope<T>(parse: (v: unknown) => T): z.ZodType<T> {
  return z.unknown().transform((value, ctx): T => {
    try {
      return parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "malformed envelope" });
      return z.NEVER;
    }
  });
}

export const memberCertEnvelope = envelope<MemberCert>(parseMemberCert);
export const memberRevocationEnvelope = envelope<MemberRevocation>(parseMemberRevocation);
export const aekBindEnvelope = envelope<AekBindEnvelope>(parseAekBind);
export const deviceListEnvelope = envelope<DeviceList>(parseDeviceList);
export const practiceConfigEnvelope = envelope<PracticeConfig>(parsePracticeConfig);

const role = z.enum(["owner", "admin", "therapist", "client"]);

export const directoryEntrySchema = z.strictObject({
  user_id: z.uuid(),
  display_name: z.string(),
  role,
  removed: z.boolean(),
  aik_pub: z.string().nullable(),
  certs: z.array(memberCertEnvelope),
  revocations: z.array(memberRevocationEnvelope),
  aek_binds: z.array(aekBindEnvelope),
  device_lists: z.array(deviceListEnvelope),
});

export const directorySchema = z.strictObject({
  entries: z.array(directoryEntrySchema),
  issuers: z.array(memberCertEnvelope),
});

export const pendingCertSchema = z.strictObject({
  user_id: z.uuid(),
  display_name: z.string(),
  role,
  aik_pub: z.string(),
  reason: z.enum(["enrolled", "recovered"]),
  previous_aik_id: z.string().nullable(),
  since: z.string(),
});

const pendingListSchema = z.strictObject({ pending: z.array(pendingCertSchema) });
const configsSchema = z.strictObject({ configs: z.array(practiceConfigEnvelope) });

export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;
export type DirectoryAnswer = z.infer<typeof directorySchema>;
export type PendingCert = z.infer<typeof pendingCertSchema>;

export async function fetchConfigs(practiceId: string): Promise<PracticeConfig[]> {
  return (await apiRequest(`/practices/${practiceId}/configs`, configsSchema)).configs;
}

/** Every member the caller may see, or only `users` (all of them visible, or a 404). */
export async function fetchDirectory(practiceId: string, users: readonly string[] = []): Promise<DirectoryAnswer> {
  const query = users.map((u) => `user=${encodeURIComponent(u)}`).join("&");
  return apiRequest(`/practices/${practiceId}/directory${query === "" ? "" : `?${query}`}`, directorySchema);
}

export async function fetchPendingCertificates(practiceId: string): Promise<PendingCert[]> {
  return (await apiRequest(`/practices/${practiceId}/pending-certificates`, pendingListSchema)).pending;
}

export interface CertificateUpload {
  cert: MemberCert;
  revocation: MemberRevocation | null;
  prsk_wrap: string | null;
}

export async function uploadCertificate(practiceId: string, upload: CertificateUpload): Promise<void> {
  await apiRequest(`/practices/${practiceId}/certificates`, z.unknown(), { method: "POST", body: upload });
}
