// One open conversation's keys (crypto-protocol §7.4, §7.6): the participants' directory
// entries, each peer checked against this device's pins (TOFU, a blocking "changed" state), the
// AEKs to seal to (`verifyRecipient`), the PRK of the newest verified practice config, and the
// reader's context for opening. The server only ever sees sealed uploads.
import { ApiError } from "../../api/client";
import { fetchDirectory, type DirectoryAnswer, type DirectoryEntry } from "../../api/directory";
import { fetchPracticeConfigs } from "../../api/keys";
import { fetchConversation, fetchGrantsNeeded, postGrants, postItem } from "../../api/messaging";
import {
  CryptoError,
  Pins,
  acceptPracticeConfigs,
  b64url,
  createGrant,
  directoryResolver,
  fromB64url,
  keyId,
  openItem,
  openStreamItem,
  sealItem,
  verifyRecipient,
  type Directory,
  type Grant,
  type ItemUpload,
  type OpenContext,
  type RecipientKey,
} from "../../crypto";
import type { KeySession } from "../keys/types";
import { checkPeer, directoryFrom, type PeerState } from "../verification/pins";
import { decodeMessage, encodeMessage } from "./payload";
import { NotSent, type EventSocket, type SendAnswer } from "./socket";
import type { Ack, ConversationContext, ConversationInfo, Participant, StoredItem } from "./types";

export interface PeerView {
  readonly participant: Participant;
  readonly state: PeerState;
}

/** Sealing is blocked until the person acknowledges a changed key on the Verify page. */
export class SealingBlocked extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealingBlocked";
  }
}

/** The server refused an item; the message is the server's words for people. */
export class SendRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SendRefused";
  }
}

export interface OpenConversation {
  readonly ctx: ConversationContext;
  readonly peers: readonly PeerView[];
  /**
   * §7.9: grants to current participants (a therapist who joined the care team later) for the
   * items in `held` that this user can read and they cannot. Returns how many were stored.
   */
  readonly grantMissing: (held: readonly StoredItem[]) => Promise<number>;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

function retryable(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429 || error.code === "invalid_response";
  return error instanceof TypeError; // fetch could not reach the server
}

/**
 * Posts `upload` until the server acknowledges it: the same bytes every time, so a retry after
 * a lost answer gets the first Ack back instead of a second copy. A refusal stops at once.
 */
export async function sendUntilAcknowledged(
  clientId: string,
  upload: ItemUpload,
  post: (clientId: string, upload: ItemUpload) => Promise<Ack> = postItem,
  wait: (ms: number) => Promise<void> = sleep,
  attempts = 8,
): Promise<Ack> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await post(clientId, upload);
    } catch (error) {
      if (!retryable(error) || attempt + 1 >= attempts) {
        if (error instanceof ApiError && !retryable(error)) throw new SendRefused(error.code, error.message);
        throw error;
      }
      await wait(Math.min(500 * 2 ** attempt, 15_000));
    }
  }
}

/** The HTTP status a socket refusal code stands for, so a refusal is handled as its HTTP twin. */
function refusalStatus(code: string): number {
  switch (code) {
    case "unavailable":
    case "server_error":
      return 503; // not about the item: retried
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "mfa_required":
      return 403;
    default:
      return 400; // the protocol's codes (E_SCHEMA, E_SIG, …)
  }
}

/**
 * One attempt at storing `upload`: as a `send` frame on the live socket when it is open (cheaper
 * for the server than a request, docs/benchmarks.md), else, or when the socket gives no answer,
 * as a `POST` of the same bytes. A retry of stored bytes gets the first Ack either way.
 */
export async function sendPreferringSocket(
  socket: Pick<EventSocket, "sendItem"> | null,
  clientId: string,
  upload: ItemUpload,
  post: (clientId: string, upload: ItemUpload) => Promise<Ack> = postItem,
): Promise<Ack> {
  if (socket !== null) {
    let answer: SendAnswer | null = null;
    try {
      answer = await socket.sendItem(clientId, upload);
    } catch (error) {
      if (!(error instanceof NotSent)) throw error;
    }
    if (answer?.type === "ack") return { seq: answer.seq, item_id: answer.item_id, received_at: answer.received_at };
    if (answer?.type === "refused") throw new ApiError(refusalStatus(answer.code), answer.code, answer.message);
  }
  return post(clientId, upload);
}

/** The PRK public key of the newest practice config, checked against this device's pin. */
async function currentPrk(session: KeySession): Promise<Uint8Array> {
  const configs = await fetchPracticeConfigs(session.practiceId);
  const record = await session.keystore.getDevice(session.userId);
  const pinned = record?.configHead === undefined ? undefined : { seq: record.configHead.seq, hash: fromB64url(record.configHead.hash) };
  const versions = pinned === undefined ? configs : configs.filter((c) => c.seq >= pinned.seq);
  await acceptPracticeConfigs(pinned, versions, { practiceId: session.practiceId, prskPub: session.prskPub });
  const newest = configs[configs.length - 1];
  if (newest === undefined) throw new CryptoError("E_CERT", "the practice has no signed config");
  return fromB64url(newest.prk_pub);
}

/** This device's pins as the protocol core's `Pins` (own AIK included). */
async function pinsOf(session: KeySession): Promise<Pins> {
  const record = await session.keystore.getDevice(session.userId);
  const initial: Record<string, string[]> = { [session.userId]: [b64url(session.account.aikId)] };
  for (const pin of Object.values(record?.peers ?? {})) {
    if (pin.userId === session.userId) continue;
    initial[pin.userId] = [b64url(await keyId("ed25519", fromB64url(pin.aikPub)))];
  }
  return new Pins(initial);
}

function participantsOf(info: ConversationInfo): Participant[] {
  return [info.client, ...info.team];
}

/** Opens the conversation of `clientId` for `session`: info, peers' states and the context. */
export async function openConversation(session: KeySession, clientId: string): Promise<OpenConversation> {
  const info = await fetchConversation(clientId);
  const people = participantsOf(info);
  const ids = [...new Set([session.userId, ...people.map((p) => p.user_id)])];
  let answer: DirectoryAnswer = await fetchDirectory(info.practice_id, ids);
  let directory: Directory = directoryFrom(info.practice_id, session.prskPub, answer);
  const entries = new Map<string, DirectoryEntry>(answer.entries.map((e) => [e.user_id, e]));

  const peers: PeerView[] = [];
  for (const participant of people) {
    if (participant.user_id === session.userId) continue;
    const entry = entries.get(participant.user_id);
    const state: PeerState =
      entry === undefined ? { kind: "no-keys", userId: participant.user_id } : await checkPeer(session, entry, directory);
    peers.push({ participant, state });
  }
  const pins = await pinsOf(session);
  let prk: Uint8Array | null = null;

  // Authors no longer on the team (earlier therapists) are looked up when an item needs them.
  const resolveBase = (): ReturnType<typeof directoryResolver> => directoryResolver(directory, pins);
  const resolveAuthor = async (userId: string, aikId: string, at: number): Promise<Uint8Array> => {
    if (!entries.has(userId)) {
      try {
        const more = await fetchDirectory(info.practice_id, [userId]);
        answer = { entries: [...answer.entries, ...more.entries], issuers: [...answer.issuers, ...more.issuers] };
        for (const e of more.entries) entries.set(e.user_id, e);
        directory = directoryFrom(info.practice_id, session.prskPub, answer);
      } catch {
        // Not visible any more: the chain check below fails with E_CERT.
      }
    }
    return resolveBase()(userId, aikId, at);
  };

  const ctx: ConversationContext = {
    session,
    info,
    async recipients(): Promise<readonly RecipientKey[]> {
      const changed = peers.find((p) => p.state.kind === "changed");
      if (changed !== undefined) {
        throw new SealingBlocked(`${changed.participant.display_name}'s security code changed. Check it on the Verify keys page before you write.`);
      }
      const now = Date.now();
      const keys: RecipientKey[] = [];
      for (const participant of people) {
        const entry = entries.get(participant.user_id);
        const isClient = participant.user_id === info.client.user_id;
        const isMe = participant.user_id === session.userId;
        if (entry === undefined || entry.aik_pub === null) {
          // A therapist without keys yet reads earlier items later through grants; the client and
          // the author must always be recipients.
          if (isClient || isMe) throw new SealingBlocked(`${participant.display_name} cannot receive secure messages yet.`);
          continue;
        }
        try {
          const aikId = b64url(await keyId("ed25519", fromB64url(entry.aik_pub)));
          keys.push(await verifyRecipient(directory, pins, { userId: participant.user_id, aikId, aekBinds: entry.aek_binds, now }));
        } catch (error) {
          if (!(error instanceof CryptoError)) throw error;
          if (isClient || isMe || error.code === "E_PIN_CHANGED") {
            throw new SealingBlocked(`${participant.display_name}'s keys could not be checked (${error.code}). Open Verify keys.`);
          }
        }
      }
      prk ??= await currentPrk(session);
      keys.push({ kind: "prk", id: info.practice_id, pub: prk });
      return keys;
    },
    openContext(stored: StoredItem): Promise<OpenContext> {
      return Promise.resolve({
        practiceId: info.practice_id,
        resolveAuthor,
        reader: { kind: "user", id: session.userId, keyPair: session.account.aek, pub: session.account.aekPub },
        grants: stored.grants,
        wraps: stored.item.wraps,
      });
    },
    send(upload: ItemUpload, post = postItem): Promise<Ack> {
      return sendUntilAcknowledged(info.client_id, upload, post);
    },
  };
  const grantMissing = async (held: readonly StoredItem[]): Promise<number> => {
    const needed = await fetchGrantsNeeded(info.client_id);
    if (needed.length === 0) return 0;
    const bySeq = new Map(held.map((s) => [s.seq, s]));
    const grantees = new Map<string, Uint8Array | null>();
    const granteeKey = async (userId: string): Promise<Uint8Array | null> => {
      if (grantees.has(userId)) return grantees.get(userId) ?? null;
      // Only someone in the conversation now, with keys that check out against this device's
      // pins (a changed key is not granted to until acknowledged).
      const peer = peers.find((p) => p.participant.user_id === userId);
      const entry = entries.get(userId);
      let pub: Uint8Array | null = null;
      if (peer?.state.kind === "pinned" && entry !== undefined && entry.aik_pub !== null) {
        try {
          const aikId = b64url(await keyId("ed25519", fromB64url(entry.aik_pub)));
          pub = (await verifyRecipient(directory, pins, { userId, aikId, aekBinds: entry.aek_binds, now: Date.now() })).pub;
        } catch (error) {
          if (!(error instanceof CryptoError)) throw error;
        }
      }
      grantees.set(userId, pub);
      return pub;
    };
    const granter = { userId: session.userId, aik: session.account.aik, aikPub: session.account.aikPub };
    const grants: Grant[] = [];
    for (const need of needed) {
      const stored = bySeq.get(need.seq);
      if (stored?.item.hdr.item_id !== need.item_id) continue;
      const aekPub = await granteeKey(need.user_id);
      if (aekPub === null) continue;
      try {
        const octx = await ctx.openContext(stored);
        // The §7.6 checks (all but the blob's signature for files) pass before this device
        // passes the item's key on.
        const opened = "ct" in stored.item.body ? await openItem(stored.item, octx) : await openStreamItem(stored.item, octx);
        try {
          grants.push(
            await createGrant({ itemId: need.item_id, rootH: opened.rootH, cek: opened.cek, grantee: { userId: need.user_id, aekPub }, granter, grantedAt: Date.now() }),
          );
        } finally {
          opened.cek.drop();
        }
      } catch (error) {
        if (!(error instanceof CryptoError)) throw error; // an item this device cannot open is not granted
      }
    }
    let stored = 0;
    for (let i = 0; i < grants.length; i += 50) stored += await postGrants(info.client_id, grants.slice(i, i + 50));
    return stored;
  };
  return { ctx, peers, grantMissing };
}

/** Seals a text message to the conversation (the caller sends the upload). */
export async function sealMessage(ctx: ConversationContext, text: string): Promise<ItemUpload> {
  const { session, info } = ctx;
  const sealed = await sealItem(
    {
      practiceId: info.practice_id,
      chartId: info.client_id,
      type: "message",
      author: { userId: session.userId, aik: session.account.aik, aikPub: session.account.aikPub },
      recipients: await ctx.recipients(),
      createdAt: Date.now(),
    },
    encodeMessage(text),
  );
  sealed.cek.drop();
  return sealed.upload;
}

export type OpenedView =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "file" }
  | { readonly kind: "failed"; readonly code: string };

/** Opens one stored item for display; never throws (a failure is a neutral line with its code). */
export async function openForView(ctx: ConversationContext, stored: StoredItem): Promise<OpenedView> {
  if (stored.item.hdr.type === "file") return { kind: "file" };
  try {
    const opened = await openItem(stored.item, await ctx.openContext(stored));
    opened.cek.drop();
    if (stored.item.hdr.type !== "message") return { kind: "failed", code: "E_SCHEMA" };
    const text = decodeMessage(opened.payload);
    return text === null ? { kind: "failed", code: "E_SCHEMA" } : { kind: "text", text };
  } catch (error) {
    return { kind: "failed", code: error instanceof CryptoError ? error.code : "E_UNKNOWN" };
  }
}
