import { describe, expect, it } from "vitest";
import { NIL_UUID, newUuidV7, sealItem } from "../crypto";
import { author, makeWorld } from "../crypto/testing/world";
import { encodeMessage } from "../app/messaging/payload";
import { ackSchema, conversationSchema, itemsSchema, parseFrame, storedItemSchema, summarySchema } from "./messaging";

async function sealedUpload(): Promise<{ upload: unknown; itemId: string }> {
  const w = await makeWorld();
  const sealed = await sealItem(
    {
      practiceId: w.practiceId,
      chartId: newUuidV7(),
      type: "message",
      author: author(w, "alice"),
      recipients: [w.recipient("alice"), w.recipient("bob"), w.prkRecipient()],
      createdAt: Date.now(),
    },
    encodeMessage("hello"),
  );
  sealed.cek.drop();
  // As it comes over the wire: plain JSON.
  return { upload: JSON.parse(JSON.stringify(sealed.upload)) as unknown, itemId: sealed.upload.hdr.item_id };
}

describe("messaging answers", () => {
  it("parse stored items with the protocol core's closed item schema", async () => {
    const { upload, itemId } = await sealedUpload();
    const parsed = storedItemSchema.parse({ seq: 1, received_at: 1_700_000_000_000, item: upload, grants: [] });
    expect(parsed.item.hdr.item_id).toBe(itemId);
    expect(itemsSchema.safeParse({ items: [{ seq: 1, received_at: 1, item: upload, grants: [] }], last_seq: 1 }).success).toBe(true);
  });

  it("refuse an item with an extra field (item or header), or an extra key around it", async () => {
    const { upload } = await sealedUpload();
    const up = upload as { hdr: Record<string, unknown> };
    expect(storedItemSchema.safeParse({ seq: 1, received_at: 1, item: { ...up, extra: 1 }, grants: [] }).success).toBe(false);
    expect(storedItemSchema.safeParse({ seq: 1, received_at: 1, item: { ...up, hdr: { ...up.hdr, extra: "x" } }, grants: [] }).success).toBe(false);
    expect(storedItemSchema.safeParse({ seq: 1, received_at: 1, item: up, grants: [], more: 1 }).success).toBe(false);
    expect(storedItemSchema.safeParse({ seq: 0, received_at: 1, item: up, grants: [] }).success).toBe(false);
    expect(storedItemSchema.safeParse({ seq: 1, received_at: 1, item: up, grants: [{ nope: 1 }] }).success).toBe(false);
  });

  it("check conversations, summaries and acks strictly", () => {
    const id = newUuidV7();
    const person = { user_id: id, display_name: "Sam", role: "client" };
    const info = {
      client_id: id,
      practice_id: id,
      client: person,
      team: [{ ...person, role: "therapist" }],
      last_seq: 3,
      read_seq: 1,
      crisis_resources: "Call 112",
      attachment_max_bytes: 100,
    };
    expect(conversationSchema.safeParse(info).success).toBe(true);
    expect(conversationSchema.safeParse({ ...info, team: [{ ...person, role: "owner" }] }).success).toBe(false);
    expect(conversationSchema.safeParse({ ...info, extra: true }).success).toBe(false);
    const summary = { client_id: id, practice_id: id, client_name: "Sam", last_seq: 0, last_activity_at: null, unread: 0 };
    expect(summarySchema.safeParse(summary).success).toBe(true);
    expect(summarySchema.safeParse({ ...summary, unread: -1 }).success).toBe(false);
    expect(ackSchema.safeParse({ seq: 4, item_id: id, received_at: 5 }).success).toBe(true);
    expect(ackSchema.safeParse({ seq: 4, item_id: "x", received_at: 5 }).success).toBe(false);
  });
});

describe("WebSocket frames", () => {
  it("accept every frame of the contract", async () => {
    const { upload } = await sealedUpload();
    const id = newUuidV7();
    const frames = [
      { type: "hello", version: 1 },
      { type: "pong", id: 3 },
      { type: "item", client_id: id, seq: 2, item: upload },
      { type: "item", client_id: id, seq: 2, item: null },
      { type: "read", client_id: id, seq: 2 },
      { type: "conversation.closed", client_id: id },
      { type: "ack", ref: 1, seq: 2, item_id: id, received_at: 9 },
      { type: "refused", ref: 1, code: "E_SIG", message: "bad" },
      { type: "error", code: "invalid", for: "send" },
      { type: "error", code: "malformed" },
    ];
    for (const f of frames) expect(parseFrame(JSON.stringify(f))?.type).toBe(f.type);
  });

  it("drop anything that does not fit", async () => {
    const { upload } = await sealedUpload();
    const id = newUuidV7();
    const bad: unknown[] = [
      "not json",
      "[]",
      JSON.stringify({ type: "hello", version: 2 }),
      JSON.stringify({ type: "hello", version: 1, extra: 1 }),
      JSON.stringify({ type: "unknown" }),
      JSON.stringify({ type: "item", client_id: "nope", seq: 1, item: upload }),
      JSON.stringify({ type: "item", client_id: id, seq: 1, item: { ...(upload as object), sig: 5 } }),
      JSON.stringify({ type: "read", client_id: NIL_UUID.slice(0, 5), seq: 1 }),
      new ArrayBuffer(4),
      "x".repeat(70_000),
    ];
    for (const b of bad) expect(parseFrame(b)).toBeNull();
  });
});
