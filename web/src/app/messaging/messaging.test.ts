import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { newUuidV7, openItem, sealItem, type ItemUpload } from "../../crypto";
import { author, makeWorld, outsider } from "../../crypto/testing/world";
import { SendRefused, openForView, sendPreferringSocket, sendUntilAcknowledged } from "./conversation";
import { decodeMessage, encodeMessage, textProblem } from "./payload";
import { NotSent, type SendAnswer } from "./socket";
import { heldThrough, highestSeq, mergeBySeq } from "./timeline";
import type { Ack, ConversationContext, StoredItem } from "./types";

describe("the timeline", () => {
  it("keeps one entry per seq, in seq order, whatever the arrival order", () => {
    const a = mergeBySeq([], [{ seq: 3, v: "c" }, { seq: 1, v: "a" }]);
    const b = mergeBySeq(a, [{ seq: 2, v: "b" }, { seq: 3, v: "dup" }, { seq: 1, v: "dup" }]);
    expect(b).toEqual([{ seq: 1, v: "a" }, { seq: 2, v: "b" }, { seq: 3, v: "c" }]);
    expect(highestSeq(b)).toBe(3);
    expect(highestSeq([])).toBe(0);
    expect(a).toHaveLength(2); // not changed by the second merge
  });

  it("catches up from the last seq held without a gap", () => {
    // 1–2 held, 3–5 sent by others while offline, 6 this tab's own (held by its Ack).
    const held = [{ seq: 1 }, { seq: 2 }, { seq: 6 }];
    expect(heldThrough(held)).toBe(2);
    expect(highestSeq(held)).toBe(6);
    expect(heldThrough(mergeBySeq(held, [{ seq: 3 }, { seq: 4 }, { seq: 5 }]))).toBe(6);
    expect(heldThrough([])).toBe(0);
    expect(heldThrough([{ seq: 2 }])).toBe(0);
  });
});

describe("message payloads", () => {
  it("pad to 256 bytes and read back", () => {
    for (const text of ["hi", "ü".repeat(300), "line\nbreak \"quoted\""]) {
      const p = encodeMessage(text);
      expect(p.length % 256).toBe(0);
      expect(decodeMessage(p)).toBe(text);
    }
    expect(decodeMessage(new TextEncoder().encode("[1]"))).toBeNull();
    expect(decodeMessage(new TextEncoder().encode('{"text": 5}'))).toBeNull();
    expect(decodeMessage(new Uint8Array([0xff]))).toBeNull();
  });

  it("refuse empty and over-long texts", () => {
    expect(textProblem("  \n")).not.toBeNull();
    expect(textProblem("x".repeat(10_000))).toBeNull();
    expect(textProblem("😀".repeat(10_000))).toBeNull(); // code points, as the server counts
    expect(textProblem("x".repeat(10_001))).not.toBeNull();
  });
});

async function storedMessage(text: string): Promise<{ stored: StoredItem; w: Awaited<ReturnType<typeof makeWorld>> }> {
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
    encodeMessage(text),
  );
  sealed.cek.drop();
  return { stored: { seq: 1, received_at: 1, item: sealed.upload, grants: [] }, w };
}

function fakeCtx(open: ConversationContext["openContext"]): ConversationContext {
  return {
    openContext: open,
    recipients: () => Promise.resolve([]),
    send: () => Promise.reject(new Error("unused")),
  } as unknown as ConversationContext;
}

describe("opening for display", () => {
  it("opens a sealed message for its recipient", async () => {
    const { stored, w } = await storedMessage("Hello Sam");
    const view = await openForView(fakeCtx(() => Promise.resolve(w.readerCtx("bob"))), stored);
    expect(view).toEqual({ kind: "text", text: "Hello Sam" });
    const opened = await openItem(stored.item, w.prkCtx());
    expect(decodeMessage(opened.payload)).toBe("Hello Sam");
    opened.cek.drop();
  });

  it("turns any failure into a neutral code, never a throw", async () => {
    const { stored, w } = await storedMessage("secret");
    const stranger = await outsider();
    const ctx = fakeCtx(() => Promise.resolve(w.readerCtx("carol")));
    expect(await openForView(ctx, stored)).toEqual({ kind: "failed", code: "E_NOT_RECIPIENT" });
    const wrongKey = fakeCtx(() =>
      Promise.resolve({ ...w.readerCtx("bob"), reader: { kind: "user", id: w.users.bob?.userId ?? "", keyPair: stranger.keyPair, pub: stranger.pub } }),
    );
    expect(await openForView(wrongKey, stored)).toEqual({ kind: "failed", code: "E_WRAP" });
    const tampered: StoredItem = { ...stored, item: { ...stored.item, sig: stored.item.sig.replace(/^./u, (c) => (c === "A" ? "B" : "A")) } };
    expect((await openForView(fakeCtx(() => Promise.resolve(w.readerCtx("bob"))), tampered)).kind).toBe("failed");
  });
});

describe("sending", () => {
  const upload = { hdr: { item_id: "x" } } as unknown as ItemUpload;
  const ack: Ack = { seq: 7, item_id: "x", received_at: 1 };
  const noWait = (): Promise<void> => Promise.resolve();

  it("retries the same bytes until acknowledged", async () => {
    const seen: string[] = [];
    let calls = 0;
    const post = (_c: string, up: ItemUpload): Promise<Ack> => {
      seen.push(JSON.stringify(up));
      calls++;
      if (calls === 1) return Promise.reject(new TypeError("Failed to fetch"));
      if (calls === 2) return Promise.reject(new ApiError(503, "unavailable", "Try later"));
      return Promise.resolve(ack);
    };
    expect(await sendUntilAcknowledged("c", upload, post, noWait)).toEqual(ack);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });

  it("stops at a refusal and says why", async () => {
    let calls = 0;
    const post = (): Promise<Ack> => {
      calls++;
      return Promise.reject(new ApiError(400, "E_SIG", "The signature does not check out."));
    };
    const error: unknown = await sendUntilAcknowledged("c", upload, post, noWait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendRefused);
    expect((error as SendRefused).code).toBe("E_SIG");
    expect(calls).toBe(1);
  });

  it("gives up after the last attempt", async () => {
    let calls = 0;
    const post = (): Promise<Ack> => {
      calls++;
      return Promise.reject(new TypeError("Failed to fetch"));
    };
    await expect(sendUntilAcknowledged("c", upload, post, noWait, 3)).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(3);
  });
});

describe("sending over the live socket", () => {
  const upload = { hdr: { item_id: "x" } } as unknown as ItemUpload;
  const ack: Ack = { seq: 7, item_id: "01890a5d-ac96-774b-bcce-b302099a8057", received_at: 1 };
  const answering = (answer: SendAnswer | Error) => ({
    sent: 0,
    sendItem(): Promise<SendAnswer> {
      this.sent++;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  });
  const noPost = (): Promise<Ack> => Promise.reject(new Error("posted"));

  it("takes the socket's ack without posting", async () => {
    const socket = answering({ type: "ack", ref: 1, ...ack });
    expect(await sendPreferringSocket(socket, "c", upload, noPost)).toEqual(ack);
    expect(socket.sent).toBe(1);
  });

  it("posts the same bytes when the socket is closed, gone or silent", async () => {
    for (const socket of [null, answering(new NotSent())]) {
      const posted: ItemUpload[] = [];
      const post = (_c: string, up: ItemUpload): Promise<Ack> => {
        posted.push(up);
        return Promise.resolve(ack);
      };
      expect(await sendPreferringSocket(socket, "c", upload, post)).toEqual(ack);
      expect(posted).toEqual([upload]);
    }
  });

  it("turns a refusal into its HTTP twin: a refusal stops, a server fault is retried", async () => {
    const refused = (code: string) => answering({ type: "refused", ref: 1, code, message: "Because." });
    const statusOf = async (code: string): Promise<number> => {
      const error: unknown = await sendPreferringSocket(refused(code), "c", upload, noPost).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      return (error as ApiError).status;
    };
    expect(await statusOf("E_SIG")).toBe(400);
    expect(await statusOf("not_found")).toBe(404);
    expect(await statusOf("conflict")).toBe(409);
    expect(await statusOf("mfa_required")).toBe(403);
    expect(await statusOf("unavailable")).toBe(503);
    expect(await statusOf("server_error")).toBe(503);

    const error: unknown = await sendUntilAcknowledged("c", upload, () => sendPreferringSocket(refused("E_SIG"), "c", upload, noPost), () => Promise.resolve()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendRefused);
  });

  it("passes on an unexpected failure rather than posting", async () => {
    await expect(sendPreferringSocket(answering(new RangeError("bug")), "c", upload, noPost)).rejects.toBeInstanceOf(RangeError);
  });
});
