// Attachment blobs (docs/api/messaging.md, crypto-protocol §8): start an upload, send the
// ciphertext in chunks at the server's offset, ask where to resume, download. Only ciphertext
// ever passes through here; JSON answers are validated like every other response.
import { z } from "zod";
import { ApiError, SIGNED_OUT_EVENT, apiRequest, csrfToken } from "./client";

export const blobStartSchema = z.strictObject({
  blob_id: z.uuid(),
  length: z.number().int().nonnegative(),
  chunk_max: z.number().int().positive(),
});
export type BlobStart = z.infer<typeof blobStartSchema>;

export const uploadStateSchema = z.strictObject({
  received: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});
export type UploadState = z.infer<typeof uploadStateSchema>;

const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), received: z.number().int().nonnegative().optional() }).loose(),
});

/** A refused chunk whose offset was not where the server is (it says where it is). */
export class OffsetMismatch extends ApiError {
  constructor(readonly received: number) {
    super(409, "offset_mismatch", "The upload continues elsewhere.");
    this.name = "OffsetMismatch";
  }
}

/** `size` is the plaintext size including the §8 metadata prefix. */
export function startBlob(clientId: string, size: number): Promise<BlobStart> {
  return apiRequest(`/conversations/${clientId}/blobs`, blobStartSchema, { method: "POST", body: { size } });
}

export function uploadState(blobId: string): Promise<UploadState> {
  return apiRequest(`/blobs/${blobId}/upload`, uploadStateSchema);
}

export async function abandonBlob(blobId: string): Promise<void> {
  await apiRequest(`/blobs/${blobId}`, z.unknown(), { method: "DELETE" });
}

async function failure(response: Response): Promise<ApiError> {
  const data: unknown = await response.json().catch(() => undefined);
  const parsed = errorBody.safeParse(data);
  if (response.status === 401 && typeof window !== "undefined") window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
  if (!parsed.success) return new ApiError(response.status, "unexpected", "The server gave an unexpected answer.");
  const { code, message, received } = parsed.data.error;
  if (code === "offset_mismatch" && received !== undefined) return new OffsetMismatch(received);
  return new ApiError(response.status, code, message);
}

/** Writes `chunk` at `offset`; the answer comes after the bytes are on the server's disk. */
export async function putChunk(blobId: string, offset: number, chunk: Uint8Array): Promise<UploadState> {
  const response = await fetch(`/api/blobs/${blobId}?offset=${offset}`, {
    method: "PUT",
    headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    cache: "no-store",
    body: chunk as Uint8Array<ArrayBuffer>,
  });
  if (!response.ok) throw await failure(response);
  const parsed = uploadStateSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(response.status, "invalid_response", "The server gave an unexpected answer.");
  return parsed.data;
}

/** The ciphertext as a stream, and its length from `Content-Length` when the server sent it. */
export async function downloadBlob(blobId: string): Promise<{ body: ReadableStream<Uint8Array>; length: number | null }> {
  const response = await fetch(`/api/blobs/${blobId}`, {
    headers: { Accept: "application/octet-stream" },
    credentials: "same-origin",
    cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  if (response.body === null) throw new ApiError(response.status, "invalid_response", "The server gave an unexpected answer.");
  const header = response.headers.get("Content-Length");
  const length = header === null ? null : Number.parseInt(header, 10);
  return { body: response.body, length: length !== null && Number.isSafeInteger(length) ? length : null };
}
