// Practice set-up (docs/api/keys.md "Practice set-up", crypto-protocol §6.1). The token comes
// from the set-up link's fragment and goes only into these two request bodies.
import { z } from "zod";
import type { MemberCert, PracticeConfig } from "../crypto";
import { ApiError, apiRequest } from "./client";
import type { AccountKeysIn } from "./keys";

const okSchema = z.strictObject({ ok: z.literal(true) });

/** True while the set-up link is usable; false for a used, expired or unknown one. */
export async function checkSetupToken(token: string): Promise<boolean> {
  try {
    await apiRequest("/setup/check", okSchema, { method: "POST", body: { token } });
    return true;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return false;
    throw error;
  }
}

export interface SetupPracticeIn {
  readonly token: string;
  readonly practice: { readonly id: string; readonly name: string };
  readonly owner: { readonly id: string; readonly email: string; readonly display_name: string; readonly auth_key: string };
  readonly config: PracticeConfig;
  readonly keys: AccountKeysIn;
  readonly cert: MemberCert;
  readonly prsk_wrap: string;
}

const createdSchema = z.strictObject({ practice_id: z.uuid(), user_id: z.uuid() });

export function createPractice(body: SetupPracticeIn): Promise<z.infer<typeof createdSchema>> {
  return apiRequest("/setup/practice", createdSchema, { method: "POST", body });
}
