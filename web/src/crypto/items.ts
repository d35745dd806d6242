/**
 * Items (spec §7): CEK and its derived values, the header hash, inline bodies, HPKE wraps to
 * every recipient (always including the PRK), the author's signature, the §7.6 reading checks
 * in order, revisions, grants and re-wraps. Stream bodies (§8) are in `stream.ts`; this module
 * binds them to the header and signature.
 */
import { CryptoError, fail } from "./errors";
import {
  B,
  I,
  L,
  NIL_UUID,
  T,
  U,
  b64url,
  checkInteger,
  concat,
  checkUuidV7,
  compareBytes,
  constantTimeEqual,
  equalBytes,
  fromB64url,
  fromB64urlLen,
  labeled,
  newUuidV7,
  parseUuid,
  uuidToBytes,
} from "./encoding";
import { ZS, aeadOpen, aeadSeal, hkdf, hkdfAesKey, hpkeOpen, hpkeSeal, importHkdfKey, keyId, randomBytes, sha256, sign, verify, wipe } from "./primitives";
import { SEGMENT_SIZE, decryptStream, encryptStream, hashingTap, streamCiphertextLength, type EncryptStreamOptions } from "./stream";
import type { Directory } from "./practice";
import { currentAekBind, type AekBindEnvelope } from "./account";
import type { AeadCiphertext, Bytes, HpkeWrap, KeyId, Plaintext, StreamCiphertext } from "./types";

export const SUITE = "qr1";
export const INLINE_MAX = 1048576;
export const ITEM_TYPES: readonly string[] = [
  "message",
  "form-response",
  "note",
  "psychotherapy-note",
  "file",
  "consent",
  "key-verification",
];

export type RecipientKind = "user" | "prk";

export interface Recipient {
  readonly kind: RecipientKind;
  /** The user id, or the practice id for `prk`. */
  readonly id: string;
  readonly key_id: string;
}

export interface BodyDescriptor {
  readonly kind: "inline" | "stream";
  readonly size: number;
  readonly seg: number;
}

export interface ItemHeader {
  readonly suite: string;
  readonly item_id: string;
  readonly practice_id: string;
  readonly chart_id: string;
  readonly thread_id: string;
  readonly type: string;
  readonly revision: number;
  readonly prev_rev_hash: string;
  readonly author_user_id: string;
  readonly author_aik_id: string;
  readonly created_at: number;
  readonly recipients: readonly Recipient[];
  readonly cek_commit: string;
  readonly body: BodyDescriptor;
}

export interface WrapEntry extends Recipient {
  readonly ct: string;
}

export interface ItemUpload {
  readonly hdr: ItemHeader;
  readonly body: { readonly ct: string } | { readonly blob_id: string };
  readonly wraps: readonly WrapEntry[];
  readonly sig: string;
}

/** A writable/readable pair usable with `pipeThrough`. */
export interface StreamPair<I, O> {
  readonly writable: WritableStream<I>;
  readonly readable: ReadableStream<O>;
}

export interface Grant {
  readonly suite: string;
  readonly item_id: string;
  readonly root_h: string;
  readonly grantee_user_id: string;
  readonly grantee_key_id: string;
  readonly granted_at: number;
  readonly granter_user_id: string;
  readonly granter_aik_id: string;
  readonly wrap: string;
  readonly sig: string;
}

export interface Rewrap {
  readonly item_id: string;
  readonly key_id_new: string;
  readonly wrap: string;
}

// ---- CEK ------------------------------------------------------------------------------------------

const cekBytes = new WeakMap<ContentKey, Bytes>();

/**
 * An item's CEK. It is only ever HKDF input (never an AES key). The raw 32 bytes are kept
 * inside this object (not reachable as a property) because HPKE wraps (sealing, grants,
 * re-wraps) need them as plaintext; call `drop()` as soon as the item is no longer open.
 */
export class ContentKey {
  private constructor(readonly hkdfKey: CryptoKey) {}

  static async generate(): Promise<ContentKey> {
    return ContentKey.fromBytes(randomBytes(32));
  }

  /** Takes ownership of `cek` (it is wiped by `drop()`). */
  static async fromBytes(cek: Bytes): Promise<ContentKey> {
    if (cek.length !== 32) fail("E_WRAP", "a CEK is 32 bytes");
    const k = new ContentKey(await importHkdfKey(cek));
    cekBytes.set(k, cek);
    return k;
  }

  private bytes(): Bytes {
    return cekBytes.get(this) ?? fail("E_WRAP", "CEK was dropped");
  }

  /** `cek_commit = KDF(CEK, ZS, PAE(T("qr/v1/cek-commit"), I(item_id)), 32)`. */
  async commit(itemId: string): Promise<Bytes> {
    return hkdf(this.hkdfKey, ZS, labeled("cek-commit", I(itemId)), 32);
  }

  /** `K_body = KDF(CEK, ZS, PAE(T("qr/v1/body-key"), I(item_id)), 32)` (non-extractable). */
  async bodyKey(itemId: string): Promise<CryptoKey> {
    return hkdfAesKey(this.hkdfKey, ZS, labeled("body-key", I(itemId)));
  }

  async wrapTo(pub: Uint8Array, itemId: string, keyIdBytes: Uint8Array, rootH: Uint8Array): Promise<HpkeWrap> {
    return hpkeSeal(pub, cekWrapInfo(itemId, keyIdBytes, rootH), this.bytes());
  }

  drop(): void {
    wipe(cekBytes.get(this));
    cekBytes.delete(this);
  }
}

export function cekWrapInfo(itemId: string, keyIdBytes: Uint8Array, rootH: Uint8Array): Bytes {
  return labeled("cek-wrap", I(itemId), B(keyIdBytes), B(rootH));
}

// ---- Header -------------------------------------------------------------------------------------

function recipientKey(r: Recipient): Bytes {
  return L(T(r.kind), I(r.id), B(fromB64urlLen(r.key_id, 16, "key_id")));
}

/** Sort order of recipients: `(kind, id, key_id)` bytes. */
export function compareRecipients(a: Recipient, b: Recipient): number {
  return (
    compareBytes(T(a.kind), T(b.kind)) ||
    compareBytes(uuidToBytes(a.id), uuidToBytes(b.id)) ||
    compareBytes(fromB64url(a.key_id), fromB64url(b.key_id))
  );
}

export function sortRecipients<R extends Recipient>(rs: readonly R[]): R[] {
  return [...rs].sort(compareRecipients);
}

/**
 * Structural checks of a header (spec §7.2, §7.6 step 1): encodings (`E_ENCODING`), suite
 * (`E_SUITE`), field rules (`E_SCHEMA`).
 */
export function checkHeader(hdr: ItemHeader): void {
  if (hdr.suite !== SUITE) fail("E_SUITE", `unknown suite ${JSON.stringify(hdr.suite).slice(0, 20)}`);
  parseUuid(hdr.item_id);
  parseUuid(hdr.practice_id);
  parseUuid(hdr.chart_id);
  parseUuid(hdr.thread_id);
  parseUuid(hdr.author_user_id);
  if (!ITEM_TYPES.includes(hdr.type)) fail("E_SCHEMA", "unknown item type");
  checkInteger(hdr.revision, "revision");
  checkInteger(hdr.created_at, "created_at");
  fromB64urlLen(hdr.author_aik_id, 16, "author_aik_id");
  fromB64urlLen(hdr.cek_commit, 32, "cek_commit");
  if (hdr.revision === 0) {
    if (hdr.prev_rev_hash !== "") fail("E_SCHEMA", "revision 0 has an empty prev_rev_hash");
  } else {
    fromB64urlLen(hdr.prev_rev_hash, 32, "prev_rev_hash");
  }
  const { size, seg } = hdr.body;
  const kind: string = hdr.body.kind; // JSON input: checked at run time
  checkInteger(size, "body.size");
  checkInteger(seg, "body.seg");
  if (kind === "inline") {
    if (seg !== 0 || size > INLINE_MAX) fail("E_SCHEMA", "inline body: seg 0, size at most 1 MiB");
  } else if (kind === "stream") {
    if (seg !== SEGMENT_SIZE) fail("E_SCHEMA", "stream body: seg is 1048576");
  } else {
    fail("E_SCHEMA", "body kind");
  }
  let prks = 0;
  for (let i = 0; i < hdr.recipients.length; i++) {
    const r = hdr.recipients[i];
    if (r === undefined) continue;
    const rkind: string = r.kind;
    if (rkind !== "user" && rkind !== "prk") fail("E_SCHEMA", "recipient kind");
    recipientKey(r);
    // (A prk entry's id is the practice id; a mismatch shows up as another practice, E_CERT.)
    if (r.kind === "prk") prks++;
    const prev = hdr.recipients[i - 1];
    if (prev !== undefined && compareRecipients(prev, r) >= 0) fail("E_SCHEMA", "recipients must be sorted and unique");
  }
  if (prks !== 1) fail("E_SCHEMA", "every item has exactly one prk recipient");
}

/** `h = SHA-256(PAE(T("qr/v1/item-hdr"), ...header pieces in table order))`. */
export async function headerHash(hdr: ItemHeader): Promise<Bytes> {
  checkHeader(hdr);
  return sha256(
    labeled(
      "item-hdr",
      T(hdr.suite),
      I(hdr.item_id),
      I(hdr.practice_id),
      I(hdr.chart_id),
      I(hdr.thread_id),
      T(hdr.type),
      U(hdr.revision),
      B(hdr.revision === 0 ? new Uint8Array(0) : fromB64url(hdr.prev_rev_hash)),
      I(hdr.author_user_id),
      B(fromB64url(hdr.author_aik_id)),
      U(hdr.created_at),
      L(...hdr.recipients.map(recipientKey)),
      B(fromB64url(hdr.cek_commit)),
      T(hdr.body.kind),
      U(hdr.body.size),
      U(hdr.body.seg),
    ),
  );
}

export function itemSigMessage(h: Uint8Array, bodyHash: Uint8Array): Bytes {
  return labeled("item-sig", B(h), B(bodyHash));
}

// ---- Sealing ------------------------------------------------------------------------------------

export interface Author {
  readonly userId: string;
  readonly aik: CryptoKeyPair;
  readonly aikPub: Uint8Array;
}

/**
 * A recipient's key, already verified by the caller as spec §7.4 requires (certificate chain to
 * the pinned PRSK, not revoked, AIK pinned, `aek_bind` for this AEK), or the PRK public key
 * from the newest verified config.
 */
export interface RecipientKey {
  readonly kind: RecipientKind;
  readonly id: string;
  readonly pub: Uint8Array;
}

export interface SealItemOptions {
  readonly practiceId: string;
  readonly chartId?: string;
  readonly threadId?: string;
  readonly type: string;
  readonly author: Author;
  /** Users and exactly one `prk` entry (the practice id with the current PRK). */
  readonly recipients: readonly RecipientKey[];
  readonly createdAt: number;
  /** A fresh UUIDv7 by default. */
  readonly itemId?: string;
}

async function buildRecipients(practiceId: string, rs: readonly RecipientKey[]): Promise<(Recipient & { pub: Uint8Array })[]> {
  const out = await Promise.all(
    rs.map(async (r) => ({ kind: r.kind, id: r.id, key_id: b64url(await keyId("x25519", r.pub)), pub: r.pub })),
  );
  if (out.filter((r) => r.kind === "prk").length !== 1) fail("E_SCHEMA", "every item needs exactly one PRK wrap");
  if (out.some((r) => r.kind === "prk" && r.id !== practiceId)) fail("E_SCHEMA", "the prk recipient's id is the practice id");
  return sortRecipients(out);
}

function headerFor(
  o: SealItemOptions,
  itemId: string,
  recipients: readonly Recipient[],
  commit: Uint8Array,
  aikId: KeyId,
  body: BodyDescriptor,
): ItemHeader {
  return {
    suite: SUITE,
    item_id: itemId,
    practice_id: o.practiceId,
    chart_id: o.chartId ?? NIL_UUID,
    thread_id: o.threadId ?? NIL_UUID,
    type: o.type,
    revision: 0,
    prev_rev_hash: "",
    author_user_id: o.author.userId,
    author_aik_id: b64url(aikId),
    created_at: o.createdAt,
    recipients: recipients.map(({ kind, id, key_id }) => ({ kind, id, key_id })),
    cek_commit: b64url(commit),
    body,
  };
}

async function wrapsFor(cek: ContentKey, itemId: string, rs: readonly (Recipient & { pub: Uint8Array })[], rootH: Uint8Array): Promise<WrapEntry[]> {
  // Independent HPKE seals run concurrently (WebCrypto works off the main thread).
  return Promise.all(
    rs.map(async (r) => ({ kind: r.kind, id: r.id, key_id: r.key_id, ct: b64url(await cek.wrapTo(r.pub, itemId, fromB64url(r.key_id), rootH)) })),
  );
}

export interface SealedItem {
  readonly upload: ItemUpload;
  readonly h: Bytes;
  /** The item's CEK for revisions and grants; `drop()` it when done. */
  readonly cek: ContentKey;
}

/** Seals an inline item (payload ≤ 1 MiB) to its recipients and the PRK, and signs it. */
export async function sealItem(o: SealItemOptions, payload: Plaintext): Promise<SealedItem> {
  if (payload.length > INLINE_MAX) fail("E_SCHEMA", "inline bodies are at most 1 MiB; use a stream");
  const itemId = checkUuidV7(o.itemId ?? newUuidV7());
  const [recipients, cek, aikId] = await Promise.all([
    buildRecipients(o.practiceId, o.recipients),
    ContentKey.generate(),
    keyId("ed25519", o.author.aikPub),
  ]);
  const [commit, bodyKey] = await Promise.all([cek.commit(itemId), cek.bodyKey(itemId)]);
  const hdr = headerFor(o, itemId, recipients, commit, aikId, { kind: "inline", size: payload.length, seg: 0 });
  const h = await headerHash(hdr);
  const [sig, wraps] = await Promise.all([
    (async () => {
      const bodyCt = await aeadSeal(bodyKey, payload, h);
      return { bodyCt, sig: await sign(o.author.aik.privateKey, itemSigMessage(h, await sha256(bodyCt))) };
    })(),
    wrapsFor(cek, itemId, recipients, h),
  ]);
  return { upload: { hdr, body: { ct: b64url(sig.bodyCt) }, wraps, sig: b64url(sig.sig) }, h, cek };
}

export interface StreamItemSealer {
  readonly hdr: ItemHeader;
  readonly h: Bytes;
  readonly wraps: readonly WrapEntry[];
  readonly cek: ContentKey;
  /** Write the plaintext in, read the blob out (upload it as it streams). */
  readonly stream: StreamPair<Uint8Array, StreamCiphertext>;
  /** After the blob has been read to its end: the upload (with `blob_id`) signed over its hash. */
  finish(blobId: string): Promise<ItemUpload>;
}

/** Seals a stream item of `size` plaintext bytes (files: include the metadata prefix, §8). */
export async function sealStreamItem(o: SealItemOptions, size: number, options: EncryptStreamOptions = {}): Promise<StreamItemSealer> {
  const itemId = checkUuidV7(o.itemId ?? newUuidV7());
  const recipients = await buildRecipients(o.practiceId, o.recipients);
  const cek = await ContentKey.generate();
  const aikId = await keyId("ed25519", o.author.aikPub);
  const hdr = headerFor(o, itemId, recipients, await cek.commit(itemId), aikId, { kind: "stream", size, seg: SEGMENT_SIZE });
  const h = await headerHash(hdr);
  const wraps = await wrapsFor(cek, itemId, recipients, h);
  return streamSealer(hdr, h, wraps, cek, o.author, options);
}

function streamSealer(
  hdr: ItemHeader,
  h: Bytes,
  wraps: readonly WrapEntry[],
  cek: ContentKey,
  author: Author,
  options: EncryptStreamOptions,
): StreamItemSealer {
  const enc = encryptStream(cek.hkdfKey, h, options);
  const tap = hashingTap<StreamCiphertext>();
  let written = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      written += chunk.length;
      // body.size is already in the signed header: refuse to seal more than it announced.
      if (written > hdr.body.size) fail("E_SCHEMA", "more plaintext than the header's body.size");
      controller.enqueue(chunk);
    },
  });
  void counter.readable.pipeTo(enc.writable).catch(() => undefined);
  const readable = enc.readable.pipeThrough(tap.stream);
  return {
    hdr,
    h,
    wraps,
    cek,
    stream: { writable: counter.writable, readable },
    async finish(blobId: string): Promise<ItemUpload> {
      if (written !== hdr.body.size) fail("E_SCHEMA", "stream length differs from the header's body.size");
      const sig = await sign(author.aik.privateKey, itemSigMessage(h, tap.digest()));
      return { hdr, body: { blob_id: blobId }, wraps, sig: b64url(sig) };
    },
  };
}

/**
 * A new revision (§7.10): same CEK and item, `revision + 1`, `prev_rev_hash = h` of `prev`, a
 * fresh nonce, a new signature by the reviser; no wraps.
 */
export async function sealRevision(
  prev: ItemHeader,
  cek: ContentKey,
  reviser: Author,
  createdAt: number,
  payload: Plaintext,
): Promise<SealedItem> {
  if (prev.body.kind !== "inline") fail("E_SCHEMA", "use sealStreamRevision for stream items");
  const hdr = await revisionHeader(prev, reviser, createdAt, { kind: "inline", size: payload.length, seg: 0 });
  const h = await headerHash(hdr);
  const bodyCt = await aeadSeal(await cek.bodyKey(hdr.item_id), payload, h);
  const sig = await sign(reviser.aik.privateKey, itemSigMessage(h, await sha256(bodyCt)));
  return { upload: { hdr, body: { ct: b64url(bodyCt) }, wraps: [], sig: b64url(sig) }, h, cek };
}

export async function sealStreamRevision(
  prev: ItemHeader,
  cek: ContentKey,
  reviser: Author,
  createdAt: number,
  size: number,
  options: EncryptStreamOptions = {},
): Promise<StreamItemSealer> {
  const hdr = await revisionHeader(prev, reviser, createdAt, { kind: "stream", size, seg: SEGMENT_SIZE });
  return streamSealer(hdr, await headerHash(hdr), [], cek, reviser, options);
}

async function revisionHeader(prev: ItemHeader, reviser: Author, createdAt: number, body: BodyDescriptor): Promise<ItemHeader> {
  return {
    ...prev,
    revision: prev.revision + 1,
    prev_rev_hash: b64url(await headerHash(prev)),
    author_user_id: reviser.userId,
    author_aik_id: b64url(await keyId("ed25519", reviser.aikPub)),
    created_at: createdAt,
    body,
  };
}

// ---- Grants and re-wraps (§7.9) -------------------------------------------------------------------

export function grantMessage(g: Omit<Grant, "suite" | "sig" | "wrap" | "granter_user_id" | "granter_aik_id">): Bytes {
  return labeled(
    "grant",
    I(g.item_id),
    B(fromB64urlLen(g.root_h, 32, "root_h")),
    I(g.grantee_user_id),
    B(fromB64urlLen(g.grantee_key_id, 16, "grantee_key_id")),
    U(checkInteger(g.granted_at)),
  );
}

/** A current recipient grants access: wraps the CEK to the grantee's (verified) AEK and signs. */
export async function createGrant(o: {
  itemId: string;
  rootH: Uint8Array;
  cek: ContentKey;
  grantee: { userId: string; aekPub: Uint8Array };
  granter: Author;
  grantedAt: number;
}): Promise<Grant> {
  const kid = await keyId("x25519", o.grantee.aekPub);
  const wrap = await o.cek.wrapTo(o.grantee.aekPub, o.itemId, kid, o.rootH);
  const body = {
    suite: SUITE,
    item_id: o.itemId,
    root_h: b64url(o.rootH),
    grantee_user_id: o.grantee.userId,
    grantee_key_id: b64url(kid),
    granted_at: o.grantedAt,
  };
  const sig = await sign(o.granter.aik.privateKey, grantMessage(body));
  return {
    ...body,
    granter_user_id: o.granter.userId,
    granter_aik_id: b64url(await keyId("ed25519", o.granter.aikPub)),
    wrap: b64url(wrap),
    sig: b64url(sig),
  };
}

/** Re-wrap after an AEK rotation (§5.4): no signature, `cek_commit` authenticates the CEK. */
export async function createRewrap(o: { itemId: string; rootH: Uint8Array; cek: ContentKey; newAekPub: Uint8Array }): Promise<Rewrap> {
  const kid = await keyId("x25519", o.newAekPub);
  return { item_id: o.itemId, key_id_new: b64url(kid), wrap: b64url(await o.cek.wrapTo(o.newAekPub, o.itemId, kid, o.rootH)) };
}

// ---- Reading (§7.6) -------------------------------------------------------------------------------

/**
 * Resolves an author's AIK: a valid certificate chain to the pinned PRSK for the practice, not
 * revoked at `at` (`E_CERT`), and pinned for that user (`E_PIN_CHANGED` for a new,
 * unacknowledged AIK). Implemented by the directory layer (see `practice.verifyMemberCert`).
 */
export type AuthorResolver = (userId: string, aikId: string, at: number) => Promise<Uint8Array>;

export interface ReaderKey {
  readonly keyPair: CryptoKeyPair;
  readonly pub: Uint8Array;
}

export interface Reader {
  readonly kind: RecipientKind;
  /** The user id, or the practice id for the PRK. */
  readonly id: string;
  /** The reader's current AEK (or the PRK) as a key pair, and its public key. */
  readonly keyPair: CryptoKeyPair;
  readonly pub: Uint8Array;
  /** More keys to try: earlier PRKs of the config chain (§10.3), or an AEK before rotation. */
  readonly moreKeys?: readonly ReaderKey[];
}

export interface OpenContext {
  /** The pinned practice. */
  readonly practiceId: string;
  readonly resolveAuthor: AuthorResolver;
  readonly reader: Reader;
  /** Revisions 0..n-1 when opening revision n > 0 (all are checked, §7.6 step 4). */
  readonly earlierRevisions?: readonly ItemUpload[];
  readonly grants?: readonly Grant[];
  readonly rewraps?: readonly Rewrap[];
  /** The wraps as the server serves them now (re-wraps, PRK re-seals); default revision 0's. */
  readonly wraps?: readonly WrapEntry[];
}

/** AIKs a device has accepted per user, oldest first; the last one is current (§6.4). */
export class Pins {
  readonly aiks = new Map<string, string[]>();

  constructor(initial: Readonly<Record<string, readonly string[]>> = {}) {
    for (const [user, ids] of Object.entries(initial)) this.aiks.set(user, [...ids]);
  }

  /** First contact pins (TOFU); an unknown AIK for a pinned user is `E_PIN_CHANGED`. */
  check(userId: string, aikId: string): void {
    const known = this.aiks.get(userId);
    if (known === undefined) {
      this.aiks.set(userId, [aikId]);
      return;
    }
    if (!known.includes(aikId)) fail("E_PIN_CHANGED", "this person's key changed and the change is not acknowledged");
  }

  acknowledge(userId: string, aikId: string): void {
    const known = this.aiks.get(userId) ?? [];
    if (!known.includes(aikId)) known.push(aikId);
    this.aiks.set(userId, known);
  }
}

/**
 * Before sealing (§7.4): the recipient's AIK has a valid certificate chain at `now`, is pinned
 * (or pinned now, on first contact), and binds the AEK with its newest valid `aek_bind`.
 * Returns the key to seal to (`E_CERT`, `E_PIN_CHANGED`, `E_SIG`).
 */
export async function verifyRecipient(
  directory: Directory,
  pins: Pins,
  o: { userId: string; aikId: string; aekBinds: readonly AekBindEnvelope[]; now: number },
): Promise<RecipientKey> {
  const cert = await directory.certifiedAik(o.userId, o.aikId, o.now);
  pins.check(o.userId, o.aikId);
  const bind = await currentAekBind(fromB64url(cert.aik_pub), o.userId, o.aekBinds);
  return { kind: "user", id: o.userId, pub: fromB64urlLen(bind.aek_pub, 32, "aek_pub") };
}

/** The standard `AuthorResolver`: a certificate chain in `directory`, then the pins (§7.6 step 2). */
export function directoryResolver(directory: Directory, pins: Pins): AuthorResolver {
  return async (userId, aikId, at) => {
    const cert = await directory.certifiedAik(userId, aikId, at);
    pins.check(userId, aikId);
    return fromB64url(cert.aik_pub);
  };
}

export interface OpenedItem {
  readonly hdr: ItemHeader;
  readonly h: Bytes;
  readonly rootH: Bytes;
  readonly payload: Plaintext;
  /** The CEK, for amendments and grants; `drop()` it when done. */
  readonly cek: ContentKey;
}

/** Steps 1–3 for one revision (with its body hash known). Returns `h`. */
async function checkRevision(ctx: OpenContext, up: ItemUpload, bodyHash: Uint8Array | undefined): Promise<Bytes> {
  checkHeader(up.hdr); // E_SUITE / E_ENCODING / E_SCHEMA
  if (up.hdr.practice_id !== ctx.practiceId) fail("E_CERT", "item from another practice");
  const aikPub = await ctx.resolveAuthor(up.hdr.author_user_id, up.hdr.author_aik_id, up.hdr.created_at);
  if (!equalBytes(await keyId("ed25519", aikPub), fromB64url(up.hdr.author_aik_id))) fail("E_CERT", "resolved AIK has another key id");
  const h = await headerHash(up.hdr);
  const sig = fromB64urlLen(up.sig, 64, "sig");
  if (bodyHash !== undefined) await verify(aikPub, sig, itemSigMessage(h, bodyHash));
  return h;
}

function inlineCt(up: ItemUpload): AeadCiphertext {
  if (!("ct" in up.body) || up.hdr.body.kind !== "inline") return fail("E_SCHEMA", "inline item without an inline body");
  const ct = fromB64url(up.body.ct);
  if (ct.length !== 12 + up.hdr.body.size + 16) fail("E_BODY", "inline ciphertext length does not match body.size");
  return ct as AeadCiphertext;
}

/** Step 4: earlier revisions each pass steps 1–3 and chain to this one (`E_CHAIN`). */
async function checkChain(ctx: OpenContext, up: ItemUpload): Promise<{ root: ItemUpload; rootH: Bytes }> {
  const earlier = ctx.earlierRevisions ?? [];
  if (up.hdr.revision === 0) return { root: up, rootH: await headerHash(up.hdr) };
  if (earlier.length !== up.hdr.revision) fail("E_CHAIN", "earlier revisions are missing");
  const chain = [...earlier, up];
  let prevH: Bytes | undefined;
  let rootH: Bytes | undefined;
  for (let i = 0; i < chain.length; i++) {
    const cur = chain[i];
    const root = chain[0];
    if (cur === undefined || root === undefined) continue;
    let h: Bytes;
    if (i < chain.length - 1) {
      const bodyHash = "ct" in cur.body ? await sha256(fromB64url(cur.body.ct)) : undefined;
      h = await checkRevision(ctx, cur, bodyHash);
    } else {
      h = await headerHash(cur.hdr);
    }
    if (cur.hdr.revision !== i) fail("E_CHAIN", "revision numbers must rise by 1 from 0");
    if (i > 0) {
      if (prevH === undefined || cur.hdr.prev_rev_hash !== b64url(prevH)) fail("E_CHAIN", "prev_rev_hash does not match");
      const a = root.hdr;
      const b = cur.hdr;
      const same =
        a.item_id === b.item_id &&
        a.practice_id === b.practice_id &&
        a.chart_id === b.chart_id &&
        a.thread_id === b.thread_id &&
        a.type === b.type &&
        a.cek_commit === b.cek_commit &&
        a.body.kind === b.body.kind &&
        JSON.stringify(a.recipients) === JSON.stringify(b.recipients.map(({ kind, id, key_id }) => ({ kind, id, key_id })));
      if (!same) fail("E_CHAIN", "a revision changed a fixed field");
    } else {
      rootH = h;
    }
    prevH = h;
  }
  const root = chain[0];
  if (root === undefined || rootH === undefined) return fail("E_CHAIN", "no revision 0");
  return { root, rootH };
}

/**
 * Step 5 through grants: a verified chain of grants from a revision-0 recipient (§7.9). Returns
 * the first valid grant to `readerId`; if none, the error of the last failed grant addressed to
 * the reader, or `E_NOT_RECIPIENT`.
 */
async function validGrantFor(ctx: OpenContext, readerId: string, root: ItemHeader, rootH: Bytes): Promise<Grant> {
  const principals = new Set(root.recipients.filter((r) => r.kind === "user").map((r) => r.id));
  let lastError: CryptoError = new CryptoError("E_NOT_RECIPIENT", "reader is not a recipient and holds no grant");
  let found: Grant | undefined;
  const sorted = [...(ctx.grants ?? [])].sort((a, b) => a.granted_at - b.granted_at);
  for (const g of sorted) {
    try {
      if (g.suite !== SUITE) fail("E_SUITE", "grant of another suite");
      if (g.item_id !== root.item_id || g.root_h !== b64url(rootH)) fail("E_NOT_RECIPIENT", "grant for another item");
      if (!principals.has(g.granter_user_id)) fail("E_NOT_RECIPIENT", "granter was not a recipient when granting");
      const aikPub = await ctx.resolveAuthor(g.granter_user_id, g.granter_aik_id, g.granted_at);
      await verify(aikPub, fromB64urlLen(g.sig, 64, "sig"), grantMessage(g));
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      if (g.grantee_user_id === readerId) lastError = e;
      continue;
    }
    principals.add(g.grantee_user_id);
    if (g.grantee_user_id === readerId) found ??= g;
  }
  if (found === undefined) throw lastError;
  return found;
}

/** Step 5 (access) and the wraps addressed to the reader's principal. */
async function candidateWraps(ctx: OpenContext, root: ItemUpload, rootH: Bytes): Promise<{ key_id: string; ct: string }[]> {
  const r = ctx.reader;
  const wraps: { kind: string; id: string; key_id: string; ct: string }[] = [...(ctx.wraps ?? root.wraps)];
  for (const x of ctx.rewraps ?? []) {
    if (x.item_id === root.hdr.item_id) wraps.push({ kind: r.kind, id: r.id, key_id: x.key_id_new, ct: x.wrap });
  }
  if (r.kind === "prk") {
    // The prk recipient is the practice, not a key: any PRK of the config chain may read (§10.3).
    if (r.id !== root.hdr.practice_id) fail("E_NOT_RECIPIENT", "PRK of another practice");
    return wraps.filter((w) => w.kind === "prk" && w.id === r.id);
  }
  const mine = wraps.filter((w) => w.kind === "user" && w.id === r.id);
  // A recipient whose wraps were deleted when they left (§7.9) and who came back reads through a
  // grant, like anyone added later.
  if (mine.length > 0 && root.hdr.recipients.some((x) => x.kind === "user" && x.id === r.id)) return mine;
  const grant = await validGrantFor(ctx, r.id, root.hdr, rootH);
  return [{ key_id: grant.grantee_key_id, ct: grant.wrap }, ...mine];
}

/** Steps 5–7: access, open the wrap bound to `root_h` for the reader's key, check `cek_commit`. */
async function openCek(ctx: OpenContext, root: ItemUpload, rootH: Bytes): Promise<ContentKey> {
  const candidates = await candidateWraps(ctx, root, rootH);
  const itemId = root.hdr.item_id;
  const keys: ReaderKey[] = [{ keyPair: ctx.reader.keyPair, pub: ctx.reader.pub }, ...(ctx.reader.moreKeys ?? [])];
  for (const key of keys) {
    const myKeyId = b64url(await keyId("x25519", key.pub));
    for (const w of candidates) {
      if (w.key_id !== myKeyId) continue;
      const cekRaw = await hpkeOpen(key.keyPair, cekWrapInfo(itemId, fromB64url(myKeyId), rootH), fromB64url(w.ct), "E_WRAP");
      const cek = await ContentKey.fromBytes(cekRaw);
      // A wrap can be made by anyone who knows the reader's public key: only the commitment
      // signed in the header shows that this is the CEK the author sealed with.
      if (!constantTimeEqual(await cek.commit(itemId), fromB64urlLen(root.hdr.cek_commit, 32, "cek_commit"))) {
        cek.drop();
        fail("E_COMMIT", "the CEK does not match cek_commit");
      }
      return cek;
    }
  }
  return fail("E_WRAP", "no wrap for the reader's current key");
}

/** Opens an inline item with every §7.6 check, in order. */
export async function openItem(up: ItemUpload, ctx: OpenContext): Promise<OpenedItem> {
  // Steps 1–3 for this revision (bodies of inline items are known up front).
  const bodyCt = "ct" in up.body ? fromB64url(up.body.ct) : undefined;
  const h = await checkRevision(ctx, up, bodyCt === undefined ? undefined : await sha256(bodyCt));
  if (bodyCt === undefined) fail("E_SCHEMA", "stream item: use openStreamItem");
  const { root, rootH } = await checkChain(ctx, up); // step 4
  const cek = await openCek(ctx, root, rootH); // steps 5–7
  try {
    const ct = inlineCt(up);
    const payload = await aeadOpen(await cek.bodyKey(up.hdr.item_id), ct, h, "E_BODY"); // step 8
    return { hdr: up.hdr, h, rootH, payload: payload as Plaintext, cek };
  } catch (e) {
    cek.drop();
    throw e;
  }
}

export interface OpenedStreamItem {
  readonly hdr: ItemHeader;
  readonly h: Bytes;
  readonly rootH: Bytes;
  readonly cek: ContentKey;
  /**
   * Pipe the blob in, read plaintext out. Chunks are provisional: the stream closes only after
   * the last segment and the signature over the whole blob's hash have checked out; otherwise
   * it errors (`E_BODY`, `E_TRUNCATED`, `E_SIG`) and nothing may be kept.
   */
  readonly stream: StreamPair<Uint8Array, Plaintext>;
}

/**
 * Opens a stream item: steps 1, 2, 4–7 now; step 3 (signature over `SHA-256(blob)`) and step 8
 * as the blob streams, with the hash computed incrementally.
 */
export async function openStreamItem(up: ItemUpload, ctx: OpenContext): Promise<OpenedStreamItem> {
  const h = await checkRevision(ctx, up, undefined);
  if (up.hdr.body.kind !== "stream" || !("blob_id" in up.body)) fail("E_SCHEMA", "not a stream item");
  const aikPub = await ctx.resolveAuthor(up.hdr.author_user_id, up.hdr.author_aik_id, up.hdr.created_at);
  const sig = fromB64urlLen(up.sig, 64, "sig");
  const { root, rootH } = await checkChain(ctx, up);
  const cek = await openCek(ctx, root, rootH);
  const tap = hashingTap<Uint8Array>();
  const expectedLength = streamCiphertextLength(up.hdr.body.size);
  let seen = 0;
  const dec = decryptStream(cek.hkdfKey, h, { expectedPlaintextLength: up.hdr.body.size });
  const check = new TransformStream<Plaintext, Plaintext>({
    async flush() {
      if (seen !== expectedLength) fail("E_TRUNCATED", "blob length does not match body.size");
      await verify(aikPub, sig, itemSigMessage(h, tap.digest()));
    },
  });
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const readable = counter.readable.pipeThrough(tap.stream).pipeThrough(dec).pipeThrough(check);
  return { hdr: up.hdr, h, rootH, cek, stream: { writable: counter.writable, readable } };
}

/**
 * Opens a stream item whose blob is already in memory (small files, tests, vectors). With the
 * whole blob at hand, the checks run strictly in §7.6 order: the signature over `SHA-256(blob)`
 * (step 3) before any decryption (step 8).
 */
export async function openStreamItemBytes(up: ItemUpload, ctx: OpenContext, blob: Uint8Array): Promise<OpenedItem> {
  if (up.hdr.body.kind !== "stream" || !("blob_id" in up.body)) fail("E_SCHEMA", "not a stream item");
  const h = await checkRevision(ctx, up, await sha256(blob));
  const { root, rootH } = await checkChain(ctx, up);
  const cek = await openCek(ctx, root, rootH);
  try {
    const chunks: Uint8Array[] = [];
    const dec = decryptStream(cek.hkdfKey, h, { expectedPlaintextLength: up.hdr.body.size });
    const reading = (async () => {
      const reader = dec.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    })();
    const writer = dec.writable.getWriter();
    const writing = (async () => {
      await writer.write(blob);
      await writer.close();
    })();
    const [r, w] = await Promise.allSettled([reading, writing]);
    if (r.status === "rejected") throw r.reason;
    if (w.status === "rejected") throw w.reason;
    const payload = concat(...chunks);
    if (payload.length !== up.hdr.body.size) fail("E_BODY", "body length differs from the signed size");
    return { hdr: up.hdr, h, rootH, payload: payload as Plaintext, cek };
  } catch (e) {
    cek.drop();
    throw e;
  }
}
