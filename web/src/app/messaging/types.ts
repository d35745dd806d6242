// The shapes the messaging pages share (docs/api/messaging.md). The zod schemas that check the
// server's answers against these live in web/src/api/messaging.ts; the conversation page builds a
// `ConversationContext` once per open conversation and hands it to the attachment components.
import type { Grant, ItemUpload, OpenContext, RecipientKey } from "../../crypto";
import type { KeySession } from "../keys/types";

export interface Participant {
  readonly user_id: string;
  readonly display_name: string;
  readonly role: "client" | "therapist";
}

export interface ConversationInfo {
  readonly client_id: string;
  readonly practice_id: string;
  readonly client: Participant;
  readonly team: readonly Participant[];
  readonly last_seq: number;
  readonly read_seq: number;
  readonly crisis_resources: string;
  readonly attachment_max_bytes: number;
}

/** One stored item as the server serves it: only the caller's own wraps and grants. */
export interface StoredItem {
  readonly seq: number;
  readonly received_at: number;
  readonly item: ItemUpload;
  readonly grants: readonly Grant[];
}

export interface Ack {
  readonly seq: number;
  readonly item_id: string;
  readonly received_at: number;
}

/** What sealing and opening in one conversation need; built by the conversation page. */
export interface ConversationContext {
  readonly session: KeySession;
  readonly info: ConversationInfo;
  /** Every participant whose keys verified (§7.4) plus the practice's current PRK. */
  recipients(): Promise<readonly RecipientKey[]>;
  /** The §7.6 context for reading `stored` (author resolver with pins, reader = own AEK). */
  openContext(stored: StoredItem): Promise<OpenContext>;
  /**
   * Sends a sealed upload, retried with the same bytes until acknowledged; each attempt goes
   * through `post` (default: HTTP; the conversation page passes the live socket's, which falls
   * back to HTTP).
   */
  send(upload: ItemUpload, post?: (clientId: string, upload: ItemUpload) => Promise<Ack>): Promise<Ack>;
}
