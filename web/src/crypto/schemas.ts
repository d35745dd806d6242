/**
 * Closed schemas for every envelope that crosses the network (spec §2.6): unknown or missing
 * fields and wrong JSON types are `E_SCHEMA`; JSON text goes through the strict reader first
 * (duplicate keys, floats, invalid UTF-8). Byte fields are checked as strict base64url and UUIDs
 * as lowercase canonical text when the envelope is used (`E_ENCODING`), and integers' range in
 * the encoders (`E_ENCODING`), so the error codes match the Python side.
 */
import { z } from "zod";
import { fail } from "./errors";
import { parseStrictJson } from "./json";
import type { DeviceList } from "./devices";
import type { Grant, ItemUpload, Rewrap, WrapEntry } from "./items";
import type { MemberCert, MemberRevocation, PracticeConfig } from "./practice";
import type { FingerprintStatement } from "./webrtc";
import type { AekBindEnvelope, BundleEnvelope } from "./account";

/** Integers: JSON numbers; their range is checked by the encoders (`E_ENCODING`). */
const int = z.number();
const str = z.string();

const recipient = z.strictObject({ kind: str, id: str, key_id: str });

export const itemHeaderSchema = z.strictObject({
  suite: str,
  item_id: str,
  practice_id: str,
  chart_id: str,
  thread_id: str,
  type: str,
  revision: int,
  prev_rev_hash: str,
  author_user_id: str,
  author_aik_id: str,
  created_at: int,
  recipients: z.array(recipient).max(64),
  cek_commit: str,
  body: z.strictObject({ kind: str, size: int, seg: int }),
});

export const wrapSchema = z.strictObject({ kind: str, id: str, key_id: str, ct: str });

export const itemUploadSchema = z.strictObject({
  hdr: itemHeaderSchema,
  body: z.union([z.strictObject({ ct: str }), z.strictObject({ blob_id: str })]),
  wraps: z.array(wrapSchema).max(64),
  sig: str,
});

export const grantSchema = z.strictObject({
  suite: str,
  item_id: str,
  root_h: str,
  grantee_user_id: str,
  grantee_key_id: str,
  granted_at: int,
  granter_user_id: str,
  granter_aik_id: str,
  wrap: str,
  sig: str,
});

export const rewrapSchema = z.strictObject({ item_id: str, key_id_new: str, wrap: str });

export const deviceListSchema = z.strictObject({
  suite: str,
  user_id: str,
  aik_id: str,
  seq: int,
  prev_hash: str,
  created_at: int,
  entries: z.array(z.strictObject({ device_id: str, dk_sig_pub: str, dk_enc_pub: str, added_at: int, revoked_at: int })),
  sig: str,
});

export const practiceConfigSchema = z.strictObject({
  suite: str,
  practice_id: str,
  seq: int,
  prev_hash: str,
  prsk_pub: str,
  prk_pub: str,
  name: str,
  policy: z.record(str, str),
  sig: str,
});

export const memberCertSchema = z.strictObject({
  suite: str,
  practice_id: str,
  user_id: str,
  role: z.enum(["owner", "admin", "therapist", "client"]),
  aik_pub: str,
  valid_from: int,
  reason: z.enum(["enrolled", "recovered", "rotated", "role-change"]),
  issuer_kind: z.enum(["prsk", "member"]),
  issuer_key_id: str,
  sig: str,
});

export const memberRevocationSchema = z.strictObject({
  suite: str,
  practice_id: str,
  user_id: str,
  aik_id: str,
  revoked_at: int,
  reason: str,
  signer_key_id: str,
  sig: str,
});

export const fingerprintStatementSchema = z.strictObject({
  suite: str,
  call_id: str,
  role: z.enum(["offerer", "answerer"]),
  user_id: str,
  device_id: str,
  hash: str,
  fingerprint: str,
  sig: str,
});

export const aekBindSchema = z.strictObject({ suite: str, user_id: str, aek_pub: str, ver: int, created_at: int, sig: str });

export const bundleSchema = z.strictObject({ suite: str, user_id: str, ver: int, aik_pub: str, aek_pub: str, aik: str, aek: str });

/**
 * Parses JSON text (or bytes, or an already-parsed value) against a closed schema, then checks
 * the envelope's `suite` when it has one (`E_SUITE`).
 */
export function parseEnvelope<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const value = typeof input === "string" || input instanceof Uint8Array ? parseStrictJson(input) : input;
  const r = schema.safeParse(value);
  if (!r.success) {
    // An unknown suite is reported as such even when the rest of the shape differs.
    if (typeof value === "object" && value !== null && "suite" in value && value.suite !== "qr1") fail("E_SUITE", "unknown suite");
    fail("E_SCHEMA", r.error.issues.map((i) => `${i.path.join(".")}: ${i.code}`).join("; ").slice(0, 200));
  }
  const data: unknown = r.data;
  if (typeof data === "object" && data !== null && "suite" in data && data.suite !== "qr1") fail("E_SUITE", "unknown suite");
  return r.data;
}

export function parseItemUpload(v: unknown): ItemUpload {
  const up = parseEnvelope(itemUploadSchema, v) as ItemUpload;
  const inline = "ct" in up.body;
  if (up.hdr.body.kind === "inline" && !inline) fail("E_SCHEMA", "an inline body needs ct");
  if (up.hdr.body.kind === "stream" && inline) fail("E_SCHEMA", "a stream body needs blob_id");
  return up;
}
export const parseWraps = (v: unknown): WrapEntry[] => parseEnvelope(z.array(wrapSchema), v) as WrapEntry[];
export const parseGrant = (v: unknown): Grant => parseEnvelope(grantSchema, v);
export const parseRewrap = (v: unknown): Rewrap => parseEnvelope(rewrapSchema, v);
export const parseDeviceList = (v: unknown): DeviceList => parseEnvelope(deviceListSchema, v);
export const parsePracticeConfig = (v: unknown): PracticeConfig => parseEnvelope(practiceConfigSchema, v);
export const parseMemberCert = (v: unknown): MemberCert => parseEnvelope(memberCertSchema, v);
export const parseMemberRevocation = (v: unknown): MemberRevocation => parseEnvelope(memberRevocationSchema, v);
export const parseFingerprintStatement = (v: unknown): FingerprintStatement => parseEnvelope(fingerprintStatementSchema, v);
export const parseAekBind = (v: unknown): AekBindEnvelope => parseEnvelope(aekBindSchema, v);
export const parseBundle = (v: unknown): BundleEnvelope => parseEnvelope(bundleSchema, v);
