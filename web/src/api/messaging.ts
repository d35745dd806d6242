// Secure messaging as the browser reads it (docs/api/messaging.md). Items and grants are sealed,
// signed data from an untrusted server: each is parsed with the protocol core's closed schemas
// before anything looks at it, and opened (with every §7.6 check) by app/messaging. WebSocket
// frames are validated the same way: a frame that does not fit is dropped, never half-used.
import { z } from "zod";
import { parseGrant, parseItemUpload, type Grant, type ItemUpload } from "../crypto";
import type { Ack, ConversationInfo, StoredItem } from "../app/messaging/types";
import { apiRequest, csrfToken } from "./client";
import { envelope } from "./directory";

export const itemUploadEnvelope = envelope<ItemUpload>(parseItemUpload);
export const grantEnvelope = envelope<Grant>(parseGrant);

const seq = z.number().int().min(0);
const ms = z.number().int().min(0);

export const participantSchema = z.strictObject({
  user_id: z.uuid(),
  display_name: z.string(),
  role: z.enum(["client", "therapist"]),
});

export const summarySchema = z.strictObject({
  client_id: z.uuid(),
  practice_id: z.uuid(),
  client_name: z.string(),
  last_seq: seq,
  last_activity_at: z.string().nullable(),
  unread: seq,
});

export const conversationSchema = z.strictObject({
  client_id: z.uuid(),
  practice_id: z.uuid(),
  client: participantSchema,
  team: z.array(participantSchema),
  last_seq: seq,
  read_seq: seq,
  crisis_resources: z.string(),
  attachment_max_bytes: z.number().int().min(0),
});

export const storedItemSchema = z.strictObject({
  seq: seq.min(1),
  received_at: ms,
  item: itemUploadEnvelope,
  grants: z.array(grantEnvelope),
});

export const itemsSchema = z.strictObject({ items: z.array(storedItemSchema), last_seq: seq });
export const ackSchema = z.strictObject({ seq: seq.min(1), item_id: z.uuid(), received_at: ms });
const conversationsSchema = z.strictObject({ conversations: z.array(summarySchema) });
const grantsNeededSchema = z.strictObject({
  needed: z.array(z.strictObject({ seq: seq.min(1), item_id: z.uuid(), user_id: z.uuid() })),
});

export type Summary = z.infer<typeof summarySchema>;

// Compile-time checks that the schemas give the shared types (types.ts).
type Holds<T extends true> = T;
export type SchemaChecks = [
  Holds<z.infer<typeof conversationSchema> extends ConversationInfo ? true : false>,
  Holds<z.infer<typeof storedItemSchema> extends StoredItem ? true : false>,
  Holds<z.infer<typeof ackSchema> extends Ack ? true : false>,
];

const base = (clientId: string): string => `/conversations/${encodeURIComponent(clientId)}`;

export async function fetchConversations(): Promise<Summary[]> {
  return (await apiRequest("/conversations", conversationsSchema)).conversations;
}

export async function fetchConversation(clientId: string): Promise<ConversationInfo> {
  return apiRequest(base(clientId), conversationSchema);
}

/** Items with `seq > after`, oldest first (at most `limit`). */
export async function fetchItems(clientId: string, after: number, limit = 100): Promise<{ items: StoredItem[]; last_seq: number }> {
  return apiRequest(`${base(clientId)}/items?after=${String(after)}&limit=${String(limit)}`, itemsSchema);
}

/** Posts an upload. The same bytes again answer with the first Ack (idempotent). */
export async function postItem(clientId: string, upload: ItemUpload): Promise<Ack> {
  return apiRequest(`${base(clientId)}/items`, ackSchema, { method: "POST", body: upload });
}

export async function postRead(clientId: string, upTo: number): Promise<void> {
  await apiRequest(`${base(clientId)}/read`, z.unknown(), { method: "POST", body: { seq: upTo } });
}

export async function postGrants(clientId: string, grants: readonly Grant[]): Promise<number> {
  const answer = await apiRequest(`${base(clientId)}/grants`, z.strictObject({ stored: seq }), { method: "POST", body: { grants } });
  return answer.stored;
}

export async function fetchGrantsNeeded(clientId: string): Promise<{ seq: number; item_id: string; user_id: string }[]> {
  return (await apiRequest(`${base(clientId)}/grants/needed`, grantsNeededSchema)).needed;
}

/**
 * Quick exit (signs out, clears site data). `keepalive` lets the request finish while the page
 * goes away; failures are ignored because the page leaves either way.
 */
export function postQuickExit(): void {
  try {
    void fetch("/api/quick-exit", {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: "{}",
    }).catch(() => undefined);
  } catch {
    // leaving anyway
  }
}

// ---- WebSocket frames (docs/api/websocket.md, messaging.md) ------------------------------------

const frameSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hello"), version: z.literal(1) }),
  z.strictObject({ type: z.literal("pong"), id: z.number().int() }),
  z.strictObject({ type: z.literal("item"), client_id: z.uuid(), seq: seq.min(1), item: itemUploadEnvelope.nullable() }),
  z.strictObject({ type: z.literal("read"), client_id: z.uuid(), seq }),
  z.strictObject({ type: z.literal("conversation.closed"), client_id: z.uuid() }),
  z.strictObject({ type: z.literal("ack"), ref: z.number().int(), seq: seq.min(1), item_id: z.uuid(), received_at: ms }),
  z.strictObject({ type: z.literal("refused"), ref: z.number().int(), code: z.string(), message: z.string() }),
  z.strictObject({ type: z.literal("error"), code: z.string(), for: z.string().optional() }),
]);

export type ServerFrame = z.infer<typeof frameSchema>;

/** A text frame from `/ws/events`, validated; null for anything that does not fit. */
export function parseFrame(text: unknown): ServerFrame | null {
  if (typeof text !== "string" || text.length > 65536) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = frameSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}
