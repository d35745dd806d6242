// Sending and opening files in a conversation (crypto-protocol §7, §8). The file is read as a
// stream and sealed segment by segment; ciphertext goes up in chunks of at most 8 MiB, each kept
// until the server acknowledges it, so a dropped connection resumes by re-sending the same bytes
// (re-encrypting would produce different ones). Opening releases nothing until the whole blob
// and the signature over it have checked out.
import { ApiError } from "../../api/client";
import { OffsetMismatch, abandonBlob, downloadBlob, putChunk, startBlob, uploadState, type UploadState } from "../../api/attachments";
import {
  fileBodySize,
  fileMetaPrefix,
  openStreamItem,
  sealStreamItem,
  splitFileMeta,
  streamCiphertextLength,
  type FileMeta,
  type StreamItemSealer,
} from "../../crypto";
import type { Ack, ConversationContext, StoredItem } from "./types";

export const CHUNK_MAX = 8 * 1024 * 1024;
/** Image types previewed after decryption. Never SVG: it can carry script. */
export const PREVIEW_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const ascii = (text: string): number[] => Array.from(new TextEncoder().encode(text));
// The leading bytes each previewed type must start with: the declared type comes from the
// sender, so a file only reaches the image decoder when its content agrees (INP-03).
const SIGNATURES: Readonly<Record<string, readonly (readonly (number | null)[])[]>> = {
  "image/png": [[0x89, ...ascii("PNG"), 0x0d, 0x0a, 0x1a, 0x0a]],
  "image/jpeg": [[0xff, 0xd8, 0xff]],
  "image/gif": [ascii("GIF87a"), ascii("GIF89a")],
  "image/webp": [[...ascii("RIFF"), null, null, null, null, ...ascii("WEBP")]],
};

/** Whether `head` (the file's first bytes) starts as `mime` must; null matches any byte. */
export function contentMatches(mime: string, head: Uint8Array): boolean {
  return (SIGNATURES[mime] ?? []).some(
    (signature) => head.length >= signature.length && signature.every((b, i) => b === null || head[i] === b),
  );
}

function headOf(parts: readonly Uint8Array[], n: number): Uint8Array {
  const head = new Uint8Array(n);
  let filled = 0;
  for (const part of parts) {
    if (filled >= n) break;
    const take = part.subarray(0, n - filled);
    head.set(take, filled);
    filled += take.length;
  }
  return head.subarray(0, filled);
}
const MAX_ATTEMPTS = 8;

/** A problem worth showing as it is (the words are for people, not logs). */
export class AttachmentProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttachmentProblem";
  }
}

export interface Progress {
  readonly sent: number;
  readonly total: number;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The metadata sealed with the file; the MIME type is what the browser said, or generic. */
export function fileMeta(file: Pick<File, "name" | "type" | "size">): FileMeta {
  return { name: file.name, mime: file.type === "" ? "application/octet-stream" : file.type, size: file.size };
}

/** Why a file cannot be sent, or null. Checked before anything is uploaded. */
export function refusal(file: Pick<File, "name" | "type" | "size">, maxBytes: number): string | null {
  let size: number;
  try {
    size = fileBodySize(fileMeta(file));
  } catch {
    return "This file's name is too long to send. Rename it and try again.";
  }
  if (size > maxBytes) return `This file is too large to send. Files can be up to ${formatSize(maxBytes)}.`;
  if (file.size === 0) return "This file is empty.";
  return null;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Network failures and server hiccups are worth retrying; a refusal is not. */
function retryable(error: unknown): boolean {
  if (error instanceof OffsetMismatch) return true;
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429;
  return error instanceof TypeError; // fetch's "Failed to fetch"
}

/**
 * Sends `chunk` (the ciphertext at `offset`) until the server has all of it. After a failure it
 * asks where the upload stands and re-sends only what is missing, from the kept bytes.
 */
export async function sendChunk(
  blobId: string,
  offset: number,
  chunk: Uint8Array,
  api: { put: typeof putChunk; state: typeof uploadState; wait: (ms: number) => Promise<void> } = { put: putChunk, state: uploadState, wait: sleep },
): Promise<UploadState> {
  const end = offset + chunk.length;
  let at = offset;
  for (let attempt = 0; ; attempt++) {
    try {
      const state = await api.put(blobId, at, chunk.subarray(at - offset));
      if (state.received >= end) return state;
      at = state.received; // the server kept less than sent: continue from there
    } catch (error) {
      if (!retryable(error) || attempt >= MAX_ATTEMPTS) throw error;
      await api.wait(Math.min(500 * 2 ** attempt, 15_000));
      let received: number;
      if (error instanceof OffsetMismatch) received = error.received;
      else {
        try {
          received = (await api.state(blobId)).received;
        } catch (again) {
          if (!retryable(again)) throw again;
          continue; // still offline: try the same bytes again after the next wait
        }
      }
      if (received >= end) return { received, length: (await api.state(blobId)).length };
      if (received < offset) throw new AttachmentProblem("The upload lost its place. Try sending the file again.");
      at = received;
    }
  }
}

/** Feeds the metadata prefix and then the file's stream into the sealer. */
async function feed(sealer: StreamItemSealer, prefix: Uint8Array, file: Blob): Promise<void> {
  const writer = sealer.stream.writable.getWriter();
  try {
    await writer.write(prefix);
    const reader = file.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await writer.write(value);
    }
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    throw error;
  }
}

/** Seals `file`, uploads it in chunks with resume, then sends the item. */
export async function sendFile(ctx: ConversationContext, file: File, onProgress: (p: Progress) => void): Promise<Ack> {
  const problem = refusal(file, ctx.info.attachment_max_bytes);
  if (problem !== null) throw new AttachmentProblem(problem);
  const meta = fileMeta(file);
  const prefix = fileMetaPrefix(meta);
  const size = prefix.length + meta.size;
  const { session } = ctx;
  const sealer = await sealStreamItem(
    {
      practiceId: ctx.info.practice_id,
      chartId: ctx.info.client_id,
      type: "file",
      author: { userId: session.userId, aik: session.account.aik, aikPub: session.account.aikPub },
      recipients: await ctx.recipients(),
      createdAt: Date.now(),
    },
    size,
  );
  let blobId: string | null = null;
  try {
    const start = await startBlob(ctx.info.client_id, size);
    blobId = start.blob_id;
    const total = streamCiphertextLength(size);
    if (start.length !== total) throw new AttachmentProblem("The server expected a different file size. Try again.");
    const chunkSize = Math.min(start.chunk_max, CHUNK_MAX);
    onProgress({ sent: 0, total });
    const feeding = feed(sealer, prefix, file);
    feeding.catch(() => undefined);
    const reader = sealer.stream.readable.getReader();
    let buf = new Uint8Array(Math.min(chunkSize, total));
    let filled = 0;
    let offset = 0;
    const flush = async (): Promise<void> => {
      if (blobId === null || filled === 0) return;
      await sendChunk(blobId, offset, buf.subarray(0, filled));
      offset += filled;
      filled = 0;
      onProgress({ sent: offset, total });
      buf = new Uint8Array(Math.min(chunkSize, total - offset));
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let pos = 0;
      while (pos < value.length) {
        const n = Math.min(buf.length - filled, value.length - pos);
        buf.set(value.subarray(pos, pos + n), filled);
        filled += n;
        pos += n;
        if (filled === buf.length) await flush();
      }
    }
    await flush();
    await feeding;
    if (offset !== total) throw new AttachmentProblem("The file changed while it was being sent. Try again.");
    const upload = await sealer.finish(blobId);
    return await ctx.send(upload);
  } catch (error) {
    // Leave no half upload behind (best effort: the server also cleans up after a day).
    if (blobId !== null) void abandonBlob(blobId).catch(() => undefined);
    if (error instanceof AttachmentProblem) throw error;
    if (error instanceof ApiError && error.code === "too_large") {
      throw new AttachmentProblem(`This file is too large to send. Files can be up to ${formatSize(ctx.info.attachment_max_bytes)}.`);
    }
    if (error instanceof DOMException || error instanceof TypeError) {
      throw new AttachmentProblem("The file could not be sent. Check your connection and try again.");
    }
    throw new AttachmentProblem("The file could not be sent. Try again.");
  } finally {
    sealer.cek.drop();
  }
}

export interface OpenedFile {
  readonly meta: FileMeta;
  /** The file's bytes, typed for preview only when it is an allowed image. */
  readonly blob: Blob;
  readonly preview: boolean;
}

/** Downloads and opens a file item; throws `AttachmentProblem` when anything fails a check. */
export async function openFile(ctx: ConversationContext, stored: StoredItem): Promise<OpenedFile> {
  const body = stored.item.body;
  if (stored.item.hdr.type !== "file" || !("blob_id" in body)) throw new AttachmentProblem("This file could not be opened.");
  let opened: Awaited<ReturnType<typeof openStreamItem>> | undefined;
  try {
    opened = await openStreamItem(stored.item, await ctx.openContext(stored));
    const split = splitFileMeta();
    const download = await downloadBlob(body.blob_id);
    void download.body.pipeTo(opened.stream.writable).catch(() => undefined);
    const parts: Uint8Array<ArrayBuffer>[] = [];
    let length = 0;
    const reader = opened.stream.readable.pipeThrough(split.stream).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      length += value.length;
    }
    // The stream closed cleanly: every segment and the signature over the whole blob verified.
    const meta = await split.meta;
    if (length !== meta.size) throw new AttachmentProblem("This file could not be opened.");
    const preview = PREVIEW_TYPES.includes(meta.mime) && contentMatches(meta.mime, headOf(parts, 12));
    // Anything but an allowed image is typed as opaque bytes, so no browser renders it.
    return { meta, preview, blob: new Blob(parts, { type: preview ? meta.mime : "application/octet-stream" }) };
  } catch (error) {
    // One plain sentence for every failure (a check, the network, a missing blob): which check
    // failed means nothing to the reader, and no detail about the file may leak into a message.
    throw error instanceof AttachmentProblem ? error : new AttachmentProblem("This file could not be opened.");
  } finally {
    opened?.cek.drop();
  }
}
