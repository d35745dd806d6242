// Sending and opening a file against an in-memory server: chunked upload with one dropped
// connection (resumed from the kept bytes), the sealed item, and a verified download.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { streamCiphertextLength, type ItemUpload } from "../../crypto";
import { author, makeWorld, type World } from "../../crypto/testing/world";
import type { KeySession } from "../keys/types";
import { AttachmentProblem, contentMatches, fileMeta, openFile, refusal, sendChunk, sendFile, type Progress } from "./attachmentTransfer";
import type { ConversationContext, StoredItem } from "./types";

const MiB = 1024 * 1024;

interface FakeBlob {
  length: number;
  bytes: Uint8Array;
  received: number;
}

/** Enough of the blob API of docs/api/messaging.md to upload, resume and download. */
function fakeServer(chunkMax: number, dropPut: (n: number) => boolean) {
  const blobs = new Map<string, FakeBlob>();
  let puts = 0;
  const json = (status: number, body: unknown): Response =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const handle = (input: string, init?: RequestInit): Response => {
    const url = new URL(input, "https://qr.test");
    const method = init?.method ?? "GET";
    let m = /^\/api\/conversations\/[^/]+\/blobs$/.exec(url.pathname);
    if (m !== null && method === "POST") {
      const { size } = JSON.parse(init?.body as string) as { size: number };
      const id = crypto.randomUUID();
      const length = streamCiphertextLength(size);
      blobs.set(id, { length, bytes: new Uint8Array(length), received: 0 });
      return json(201, { blob_id: id, length, chunk_max: chunkMax });
    }
    m = /^\/api\/blobs\/([^/]+)(\/upload)?$/.exec(url.pathname);
    const blob = m === null ? undefined : blobs.get(m[1] ?? "");
    if (m === null || blob === undefined) return json(404, { error: { code: "not_found", message: "Nothing was found here." } });
    if (m[2] === "/upload") return json(200, { received: blob.received, length: blob.length });
    if (method === "PUT") {
      const offset = Number(url.searchParams.get("offset"));
      const body = init?.body as Uint8Array;
      if (offset !== blob.received) {
        return json(409, { error: { code: "offset_mismatch", message: "x", received: blob.received } });
      }
      blob.bytes.set(body, offset);
      blob.received += body.length;
      // The connection drops after the server stored the chunk: the answer never arrives.
      if (dropPut(puts++)) throw new TypeError("Failed to fetch");
      return json(200, { received: blob.received, length: blob.length });
    }
    if (method === "DELETE") {
      blobs.delete(m[1] ?? "");
      return new Response(null, { status: 204 });
    }
    return new Response(blob.bytes.slice(0, blob.received), { status: 200, headers: { "Content-Length": String(blob.received) } });
  };
  const fetch = vi.fn((input: string, init?: RequestInit): Promise<Response> => {
    try {
      return Promise.resolve(handle(input, init));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error("fake server"));
    }
  });
  return { fetch, blobs, puts: () => puts };
}

function context(w: World, name: string, maxBytes: number, sent: ItemUpload[]): ConversationContext {
  const a = author(w, name);
  const session = { userId: a.userId, practiceId: w.practiceId, account: { aik: a.aik, aikPub: a.aikPub } } as unknown as KeySession;
  return {
    session,
    info: {
      client_id: w.users.bob?.userId ?? "",
      practice_id: w.practiceId,
      client: { user_id: w.users.bob?.userId ?? "", display_name: "Bob", role: "client" },
      team: [],
      last_seq: 0,
      read_seq: 0,
      crisis_resources: "",
      attachment_max_bytes: maxBytes,
    },
    recipients: () => Promise.resolve([w.recipient("alice"), w.recipient("bob"), w.prkRecipient()]),
    openContext: () => Promise.resolve(w.readerCtx(name)),
    send: (upload) => {
      sent.push(upload);
      return Promise.resolve({ seq: sent.length, item_id: upload.hdr.item_id, received_at: 1 });
    },
  };
}

function bytesOf(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

describe("attachments", () => {
  beforeEach(() => {
    vi.stubGlobal("document", { cookie: "" });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("uploads in chunks, resumes after a dropped connection, and opens with identical bytes", async () => {
    const w = await makeWorld();
    const server = fakeServer(MiB, (n) => n === 1);
    vi.stubGlobal("fetch", server.fetch);
    const sent: ItemUpload[] = [];
    const content = bytesOf(3 * MiB + 12345);
    const file = new File([content], "scan results.pdf", { type: "application/pdf" });
    const progress: Progress[] = [];
    const ack = await sendFile(context(w, "alice", 100 * MiB, sent), file, (p) => progress.push(p));
    expect(ack.seq).toBe(1);
    const upload = sent[0];
    if (upload === undefined) throw new Error("nothing sent");
    expect(upload.hdr.type).toBe("file");
    expect(upload.hdr.chart_id).toBe(w.users.bob?.userId);
    const last = progress.at(-1);
    expect(last !== undefined && last.sent === last.total).toBe(true);
    expect(server.puts()).toBeGreaterThanOrEqual(4);
    const stored: StoredItem = { seq: 1, received_at: 1, item: upload, grants: [] };
    const opened = await openFile(context(w, "bob", 100 * MiB, []), stored);
    expect(opened.meta).toEqual({ name: "scan results.pdf", mime: "application/pdf", size: content.length });
    expect(opened.preview).toBe(false);
    expect(opened.blob.type).toBe("application/octet-stream");
    const got = new Uint8Array(await opened.blob.arrayBuffer());
    // Compared by hand: a deep equality over millions of elements takes many seconds.
    expect(got.length === content.length && got.every((b, i) => b === content[i])).toBe(true);
  }, 60_000);

  it("previews allowed images only when their content agrees, never SVG", async () => {
    const w = await makeWorld();
    const server = fakeServer(8 * MiB, () => false);
    vi.stubGlobal("fetch", server.fetch);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...bytesOf(92)]);
    for (const [name, mime, content, preview] of [
      ["a.png", "image/png", png, true],
      ["fake.png", "image/png", bytesOf(100), false], // declared PNG, but not PNG bytes
      ["b.svg", "image/svg+xml", bytesOf(100), false],
    ] as const) {
      const sent: ItemUpload[] = [];
      await sendFile(context(w, "alice", MiB, sent), new File([content], name, { type: mime }), () => undefined);
      const upload = sent[0];
      if (upload === undefined) throw new Error("nothing sent");
      const opened = await openFile(context(w, "bob", MiB, []), { seq: 1, received_at: 1, item: upload, grants: [] });
      expect(opened.preview).toBe(preview);
      expect(opened.blob.type).toBe(preview ? mime : "application/octet-stream");
    }
  });

  it("matches each previewed type's leading bytes", () => {
    const ascii = (t: string): number[] => Array.from(new TextEncoder().encode(t));
    expect(contentMatches("image/jpeg", new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe(true);
    expect(contentMatches("image/gif", new Uint8Array(ascii("GIF89a")))).toBe(true);
    expect(contentMatches("image/webp", new Uint8Array([...ascii("RIFF"), 1, 2, 3, 4, ...ascii("WEBP")]))).toBe(true);
    expect(contentMatches("image/webp", new Uint8Array([...ascii("RIFF"), 1, 2, 3, 4, ...ascii("WAVE")]))).toBe(false);
    expect(contentMatches("image/png", new Uint8Array([0x89, 0x50]))).toBe(false); // too short
    expect(contentMatches("image/svg+xml", new Uint8Array(ascii("<svg")))).toBe(false);
  });

  it("refuses a tampered blob with one plain sentence", async () => {
    const w = await makeWorld();
    const server = fakeServer(8 * MiB, () => false);
    vi.stubGlobal("fetch", server.fetch);
    const sent: ItemUpload[] = [];
    await sendFile(context(w, "alice", MiB, sent), new File([bytesOf(5000)], "x.txt", { type: "text/plain" }), () => undefined);
    const upload = sent[0];
    if (upload === undefined || !("blob_id" in upload.body)) throw new Error("nothing sent");
    const blob = server.blobs.get(upload.body.blob_id);
    if (blob === undefined) throw new Error("no blob");
    blob.bytes[100] = (blob.bytes[100] ?? 0) ^ 1;
    const opening = openFile(context(w, "bob", MiB, []), { seq: 1, received_at: 1, item: upload, grants: [] });
    await expect(opening).rejects.toThrow(new AttachmentProblem("This file could not be opened."));
  });

  it("says before any upload when a file is too large or its name too long", async () => {
    expect(refusal({ name: "a.bin", type: "", size: 2 * MiB }, MiB)).toMatch(/too large.*1\.0 MB/);
    expect(refusal({ name: "x".repeat(5000), type: "", size: 10 }, MiB)).toMatch(/name is too long/);
    expect(refusal({ name: "a.bin", type: "", size: 0 }, MiB)).toMatch(/empty/);
    expect(refusal({ name: "a.bin", type: "", size: 10 }, MiB)).toBeNull();
    expect(fileMeta({ name: "a", type: "", size: 1 }).mime).toBe("application/octet-stream");
    const w = await makeWorld();
    const server = fakeServer(MiB, () => false);
    vi.stubGlobal("fetch", server.fetch);
    await expect(sendFile(context(w, "alice", MiB, []), new File([bytesOf(MiB + 1)], "big.bin"), () => undefined)).rejects.toThrow(
      AttachmentProblem,
    );
    expect(server.fetch).not.toHaveBeenCalled();
  });

  it("re-sends only what the server is missing after a failure", async () => {
    const chunk = bytesOf(1000);
    const puts: [number, number][] = [];
    let received = 500;
    let fail = true;
    const state = await sendChunk("b", 500, chunk.subarray(0, 500), {
      put: (_id, offset, bytes) => {
        puts.push([offset, bytes.length]);
        if (fail) {
          fail = false;
          received = 700; // part of the chunk reached the disk before the connection dropped
          return Promise.reject(new TypeError("Failed to fetch"));
        }
        received = offset + bytes.length;
        return Promise.resolve({ received, length: 1000 });
      },
      state: () => Promise.resolve({ received, length: 1000 }),
      wait: () => Promise.resolve(),
    });
    expect(puts).toEqual([
      [500, 500],
      [700, 300],
    ]);
    expect(state.received).toBe(1000);
  });
});
