/**
 * Streaming encryption of large bodies (spec §8): exactly Tink's AES-GCM-HKDF streaming format
 * with key value = CEK, HKDF-SHA256, derived key size 32, 1 MiB ciphertext segments and
 * associated data `h` (the item header hash).
 *
 *   header    = 0x28 ‖ salt(32) ‖ nonce_prefix(7)
 *   K_seg     = HKDF-SHA256(ikm = CEK, salt, info = h, 32)
 *   segment i = AES-256-GCM(K_seg, nonce_prefix ‖ BE32(i) ‖ last?1:0, pt_i, aad = empty)
 *
 * Both directions are `TransformStream`s holding at most one plaintext and one ciphertext
 * segment (memory stays flat at about two segments; no whole-file buffer). The decoder finds
 * the last segment by reading one segment ahead, splitting by length, never by content.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { CryptoError, fail, mapErrors } from "./errors";
import { bytes, concat, copyBytes, fromUtf8, le32, utf8 } from "./encoding";
import { hkdfAesKey, importHkdfKey, randomBytes } from "./primitives";
import type { Bytes, Plaintext, StreamCiphertext } from "./types";

export const SEGMENT_SIZE = 1048576;
export const HEADER_LEN = 40;
export const TAG_LEN = 16;
export const FIRST_SEGMENT_PT = SEGMENT_SIZE - HEADER_LEN - TAG_LEN; // 1048520
export const SEGMENT_PT = SEGMENT_SIZE - TAG_LEN; // 1048560
const SALT_LEN = 32;
const PREFIX_LEN = 7;

/** Number of segments `n` for plaintext length `P`. */
export function streamSegmentCount(plaintextLength: number): number {
  if (plaintextLength <= FIRST_SEGMENT_PT) return 1;
  return 1 + Math.ceil((plaintextLength - FIRST_SEGMENT_PT) / SEGMENT_PT);
}

/** `40 + P + 16·n`. */
export function streamCiphertextLength(plaintextLength: number): number {
  return HEADER_LEN + plaintextLength + TAG_LEN * streamSegmentCount(plaintextLength);
}

function segmentNonce(prefix: Uint8Array, index: number, last: boolean): Bytes {
  const nonce = bytes(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(PREFIX_LEN, index, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

async function cekKey(cek: CryptoKey | Uint8Array): Promise<CryptoKey> {
  if (cek instanceof Uint8Array) {
    if (cek.length !== 32) fail("E_ENCODING", "CEK must be 32 bytes");
    return importHkdfKey(cek);
  }
  return cek;
}

export interface EncryptStreamOptions {
  /**
   * Fixed salt and nonce prefix, for known-answer vectors only. Production code MUST leave them
   * out so that both are random (reusing them with one CEK and `h` would reuse nonces).
   */
  readonly testOnlySalt?: Uint8Array;
  readonly testOnlyNoncePrefix?: Uint8Array;
}

/** Encrypts a plaintext byte stream into the Tink streaming ciphertext (header first). */
export function encryptStream(
  cek: CryptoKey | Uint8Array,
  aad: Uint8Array,
  options: EncryptStreamOptions = {},
): TransformStream<Uint8Array, StreamCiphertext> {
  const salt = options.testOnlySalt === undefined ? randomBytes(SALT_LEN) : copyBytes(options.testOnlySalt);
  const prefix = options.testOnlyNoncePrefix === undefined ? randomBytes(PREFIX_LEN) : copyBytes(options.testOnlyNoncePrefix);
  if (salt.length !== SALT_LEN || prefix.length !== PREFIX_LEN) fail("E_ENCODING", "salt is 32 bytes, nonce prefix 7");
  let key: CryptoKey | undefined;
  let buf = bytes(FIRST_SEGMENT_PT);
  let filled = 0;
  let index = 0;

  const seal = async (last: boolean): Promise<StreamCiphertext> => {
    if (key === undefined) return fail("E_BODY", "stream key missing");
    const ct = await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv: segmentNonce(prefix, index, last), tagLength: 128 },
      key,
      buf.subarray(0, filled),
    );
    index++;
    if (index > 0xffffffff) fail("E_BODY", "too many segments");
    return new Uint8Array(ct) as StreamCiphertext;
  };

  return new TransformStream<Uint8Array, StreamCiphertext>({
    async start(controller) {
      key = await hkdfAesKey(await cekKey(cek), salt, aad, ["encrypt"]);
      controller.enqueue(concat(Uint8Array.of(HEADER_LEN), salt, prefix) as StreamCiphertext);
    },
    async transform(chunk, controller) {
      let off = 0;
      while (off < chunk.length) {
        if (filled === buf.length) {
          // More plaintext follows, so the full segment is not the last one.
          controller.enqueue(await seal(false));
          if (buf.length !== SEGMENT_PT) buf = bytes(SEGMENT_PT);
          filled = 0;
        }
        const n = Math.min(buf.length - filled, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
      }
    },
    async flush(controller) {
      controller.enqueue(await seal(true));
      buf.fill(0);
    },
  });
}

export interface DecryptStreamOptions {
  /** The header's `body.size`: the total ciphertext length is then checked (`E_TRUNCATED`). */
  readonly expectedPlaintextLength?: number;
}

/**
 * Decrypts a Tink streaming ciphertext. Errors: fewer than 56 bytes, a final segment under 16
 * bytes or a stream cut at a segment boundary → `E_TRUNCATED`; a wrong header byte, a flipped
 * bit, reordered segments or data after the real last segment → `E_BODY`; a length different
 * from `expectedPlaintextLength` → `E_TRUNCATED`. Chunks are provisional until the stream
 * closes without error.
 */
export function decryptStream(
  cek: CryptoKey | Uint8Array,
  aad: Uint8Array,
  options: DecryptStreamOptions = {},
): TransformStream<Uint8Array, Plaintext> {
  let cekHkdf: CryptoKey | undefined;
  let key: CryptoKey | undefined;
  const header = bytes(HEADER_LEN);
  let headerFilled = 0;
  let prefix = bytes(PREFIX_LEN);
  let buf = bytes(FIRST_SEGMENT_PT + TAG_LEN);
  let filled = 0;
  let index = 0;
  let total = 0;
  let plaintextTotal = 0;

  const tryOpen = async (k: CryptoKey, last: boolean, data: Bytes): Promise<Bytes | undefined> => {
    try {
      const iv = segmentNonce(prefix, index, last);
      return new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv, tagLength: 128 }, k, data));
    } catch {
      return undefined;
    }
  };

  const open = async (last: boolean): Promise<Plaintext> => {
    if (key === undefined) return fail("E_BODY", "stream key missing");
    const data = buf.subarray(0, filled);
    const pt = await tryOpen(key, last, data);
    if (pt === undefined) {
      // Tell a cut stream from a corrupted one: a final segment that opens only as a non-last
      // one means the stream was cut at a segment boundary (E_TRUNCATED). Data after the real
      // last segment, like any other corruption, is E_BODY.
      if (last && (await tryOpen(key, false, data)) !== undefined) fail("E_TRUNCATED", "stream truncated at a segment boundary");
      fail("E_BODY", `segment ${index} does not decrypt`);
    }
    index++;
    plaintextTotal += pt.length;
    return pt as Plaintext;
  };

  return new TransformStream<Uint8Array, Plaintext>({
    async start() {
      cekHkdf = await cekKey(cek);
    },
    async transform(chunk, controller) {
      total += chunk.length;
      let off = 0;
      if (headerFilled < HEADER_LEN) {
        const n = Math.min(HEADER_LEN - headerFilled, chunk.length);
        header.set(chunk.subarray(0, n), headerFilled);
        headerFilled += n;
        off = n;
        if (headerFilled === HEADER_LEN) {
          if (header[0] !== HEADER_LEN) fail("E_BODY", "not a qr1 stream header");
          prefix = copyBytes(header.subarray(1 + SALT_LEN));
          const ikm = cekHkdf ?? fail("E_BODY", "stream key missing");
          key = await mapErrors("E_BODY", "stream key", () => hkdfAesKey(ikm, header.subarray(1, 1 + SALT_LEN), aad, ["decrypt"]));
        }
      }
      while (off < chunk.length) {
        if (filled === buf.length) {
          controller.enqueue(await open(false));
          if (buf.length !== SEGMENT_SIZE) buf = bytes(SEGMENT_SIZE);
          filled = 0;
        }
        const n = Math.min(buf.length - filled, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
      }
    },
    async flush(controller) {
      if (total < HEADER_LEN + TAG_LEN || filled < TAG_LEN) fail("E_TRUNCATED", "stream too short");
      controller.enqueue(await open(true));
      const expected = options.expectedPlaintextLength;
      if (expected !== undefined && plaintextTotal !== expected) fail("E_TRUNCATED", "stream length does not match the header");
    },
  });
}

/**
 * A pass-through transform that hashes what flows through with incremental SHA-256
 * (`@noble/hashes`; WebCrypto's digest is one-shot). `digest()` is valid once the stream closed.
 */
export function hashingTap<T extends Uint8Array>(): { stream: TransformStream<T, T>; digest: () => Bytes } {
  const h = nobleSha256.create();
  let result: Bytes | undefined;
  const stream = new TransformStream<T, T>({
    transform(chunk, controller) {
      h.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      result = copyBytes(h.digest());
    },
  });
  return { stream, digest: () => result ?? fail("E_TRUNCATED", "stream not finished") };
}

/** Incremental SHA-256 of a whole stream, without buffering it. */
export async function sha256Stream(stream: ReadableStream<Uint8Array>): Promise<Bytes> {
  const h = nobleSha256.create();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    h.update(value);
  }
  return copyBytes(h.digest());
}

// ---- File metadata inside the stream: LE32(len(meta)) ‖ meta ‖ file bytes ----------------------

export interface FileMeta {
  readonly name: string;
  readonly mime: string;
  readonly size: number;
}

export const MAX_META = 4096;

export function fileMetaPrefix(meta: FileMeta): Plaintext {
  const json = utf8(JSON.stringify({ name: meta.name, mime: meta.mime, size: meta.size }));
  if (json.length > MAX_META) fail("E_SCHEMA", "file metadata over 4 KiB");
  return concat(le32(json.length), json) as Plaintext;
}

/** Plaintext length of a file body (`body.size`): metadata prefix plus file bytes. */
export function fileBodySize(meta: FileMeta): number {
  return fileMetaPrefix(meta).length + meta.size;
}

/** Splits the decrypted stream into the metadata (a promise) and the file bytes. */
export function splitFileMeta(): { stream: TransformStream<Plaintext, Plaintext>; meta: Promise<FileMeta> } {
  let head = bytes(0);
  let metaLen: number | undefined;
  let resolveMeta: (m: FileMeta) => void = () => undefined;
  let rejectMeta: (e: unknown) => void = () => undefined;
  const meta = new Promise<FileMeta>((res, rej) => {
    resolveMeta = res;
    rejectMeta = rej;
  });
  meta.catch(() => undefined);
  const parse = (json: Uint8Array): FileMeta => {
    let value: unknown;
    try {
      value = JSON.parse(fromUtf8(json));
    } catch (e) {
      return fail("E_SCHEMA", "file metadata is not JSON", e);
    }
    if (typeof value !== "object" || value === null) return fail("E_SCHEMA", "file metadata");
    const keys = Object.keys(value).sort().join(",");
    const v = value as Record<string, unknown>;
    if (keys !== "mime,name,size" || typeof v.name !== "string" || typeof v.mime !== "string" || !Number.isSafeInteger(v.size)) {
      fail("E_SCHEMA", "file metadata has the wrong fields");
    }
    return { name: v.name, mime: v.mime, size: v.size as number };
  };
  const stream = new TransformStream<Plaintext, Plaintext>({
    transform(chunk, controller) {
      if (metaLen !== undefined && head.length === 0) {
        controller.enqueue(chunk);
        return;
      }
      head = concat(head, chunk);
      if (metaLen === undefined && head.length >= 4) {
        metaLen = new DataView(head.buffer).getUint32(0, true);
        if (metaLen > MAX_META) {
          const e = new CryptoError("E_SCHEMA", "file metadata over 4 KiB");
          rejectMeta(e);
          throw e;
        }
      }
      if (metaLen !== undefined && head.length >= 4 + metaLen) {
        try {
          resolveMeta(parse(head.subarray(4, 4 + metaLen)));
        } catch (e) {
          rejectMeta(e);
          throw e;
        }
        const rest = head.subarray(4 + metaLen);
        head = bytes(0);
        if (rest.length > 0) controller.enqueue(copyBytes(rest) as Plaintext);
      }
    },
    flush() {
      if (metaLen === undefined || head.length > 0) {
        const e = new CryptoError("E_SCHEMA", "stream ended inside the file metadata");
        rejectMeta(e);
        throw e;
      }
    },
  });
  return { stream, meta };
}
