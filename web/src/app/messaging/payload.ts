// The payload of a `message` item (docs/api/messaging.md): `{"text"}` as UTF-8 JSON, padded with
// trailing ASCII spaces to a multiple of 256 bytes so the ciphertext length says little about
// the text (crypto-protocol §7.3; the Python core's `pad_payload` does the same).
import { asPlaintext, type Plaintext } from "../../crypto";

export const TEXT_MAX = 10000;
const PAD_BLOCK = 256;

/** Why a text cannot be sent, or null. */
export function textProblem(text: string): string | null {
  if (text.trim() === "") return "Write a message first.";
  // Characters as the server counts them (code points): a surrogate pair is one.
  if (Array.from(text).length > TEXT_MAX) return `A message can be at most ${String(TEXT_MAX)} characters.`;
  return null;
}

export function encodeMessage(text: string): Plaintext {
  const json = new TextEncoder().encode(JSON.stringify({ text }));
  const padded = new Uint8Array(json.length + ((PAD_BLOCK - (json.length % PAD_BLOCK)) % PAD_BLOCK));
  padded.fill(0x20);
  padded.set(json);
  return asPlaintext(padded);
}

/** The text of an opened payload, or null when it is not a message payload. */
export function decodeMessage(payload: Uint8Array): string | null {
  try {
    const data: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
    const text: unknown = (data as Record<string, unknown>).text;
    return typeof text === "string" ? text : null;
  } catch {
    return null;
  }
}
