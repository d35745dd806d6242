// The account-keys API (docs/api/keys.md "Account keys"). The server stores only public keys,
// signed statements and what this browser sealed; every answer is checked against a closed
// schema here, and every envelope inside it again by the crypto core before it is trusted.
import { z } from "zod";
import { aekBindSchema, bundleSchema, deviceListSchema, practiceConfigSchema } from "../crypto/schemas";
import type { AekBindEnvelope, BundleEnvelope, DeviceList, PracticeConfig } from "../crypto";
import { ApiError, apiRequest } from "./client";

const b64 = z.string().regex(/^[A-Za-z0-9_-]+$/);

export const kdfSchema = z.strictObject({
  alg: z.literal("argon2id"),
  m: z.number().int(),
  t: z.number().int(),
  p: z.number().int(),
});

const pwWrapSchema = z.strictObject({ ver: z.number().int().min(1), ct: b64, kdf: kdfSchema, confirmed: z.boolean() });
const olderPwWrapSchema = z.strictObject({ ver: z.number().int().min(1), ct: b64, kdf: kdfSchema });

export const accountKeysOutSchema = z.strictObject({
  user_id: z.uuid(),
  practice_id: z.uuid(),
  salt: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  kdf: kdfSchema,
  pw_wrap: pwWrapSchema,
  older_pw_wraps: z.array(olderPwWrapSchema),
  bundle: bundleSchema,
  aek_binds: z.array(aekBindSchema),
  keys_locked: z.boolean(),
  device_lists: z.array(deviceListSchema),
  dev_wrap: b64.nullable(),
  prsk_wrap: b64.nullable(),
});

export type AccountKeysOut = z.infer<typeof accountKeysOutSchema>;
export type Kdf = z.infer<typeof kdfSchema>;

/** What `PUT /api/keys/account` (and the set-up call) take. */
export interface AccountKeysIn {
  readonly kdf: Kdf;
  readonly pw_wrap: string;
  readonly bundle: BundleEnvelope;
  readonly aek_bind: AekBindEnvelope;
  readonly rec_escrow: { readonly prk_id: string; readonly ct: string };
  readonly device_list: DeviceList;
  readonly dev_wrap: { readonly device_id: string; readonly ct: string } | null;
}

// Writes whose answer the contract leaves open: an empty body or any JSON object, never used.
const ignoredAnswer = z.union([z.undefined(), z.null(), z.looseObject({})]);
const noContent = z.undefined();

/** Own keys, with `dev_wrap` for `deviceId` when it is remembered; null when none exist yet. */
export async function fetchAccountKeys(deviceId?: string): Promise<AccountKeysOut | null> {
  const query = deviceId === undefined ? "" : `?device_id=${encodeURIComponent(deviceId)}`;
  try {
    return await apiRequest(`/keys/account${query}`, accountKeysOutSchema);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function putAccountKeys(keys: AccountKeysIn): Promise<AccountKeysOut> {
  return apiRequest("/keys/account", accountKeysOutSchema, { method: "PUT", body: keys });
}

export async function postPendingPwWrap(wrap: { ver: number; kdf: Kdf; ct: string }): Promise<void> {
  await apiRequest("/keys/pw-wrap/pending", ignoredAnswer, { method: "POST", body: wrap });
}

export function confirmPwWrap(ver: number): Promise<AccountKeysOut> {
  return apiRequest("/keys/pw-wrap/confirm", accountKeysOutSchema, { method: "POST", body: { ver } });
}

export async function publishDeviceList(
  deviceList: DeviceList,
  devWrap: { device_id: string; ct: string } | null,
): Promise<void> {
  await apiRequest("/keys/devices", ignoredAnswer, { method: "POST", body: { device_list: deviceList, dev_wrap: devWrap } });
}

const deviceListsSchema = z.strictObject({ lists: z.array(deviceListSchema) });

export async function fetchDeviceLists(): Promise<DeviceList[]> {
  return (await apiRequest("/keys/devices", deviceListsSchema)).lists;
}

export async function putDevWrap(deviceId: string, ct: string): Promise<void> {
  await apiRequest(`/keys/devices/${encodeURIComponent(deviceId)}/dev-wrap`, noContent, { method: "PUT", body: { ct } });
}

export async function deleteDevWrap(deviceId: string): Promise<void> {
  await apiRequest(`/keys/devices/${encodeURIComponent(deviceId)}/dev-wrap`, noContent, { method: "DELETE" });
}

const configsSchema = z.strictObject({ configs: z.array(practiceConfigSchema).min(1) });

/** The practice's signed configs, oldest first (docs/api/keys.md "Directory"). */
export async function fetchPracticeConfigs(practiceId: string): Promise<PracticeConfig[]> {
  return (await apiRequest(`/practices/${encodeURIComponent(practiceId)}/configs`, configsSchema)).configs;
}
