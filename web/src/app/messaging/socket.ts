// The live connection to `/ws/events` (docs/api/websocket.md): reconnects with backoff, checks
// liveness with pings, and tells its owner each time a connection is (re)established so the
// owner can catch up over HTTP (`items?after=`): a push missed while offline is never lost,
// because the catch-up, not the push, is what guarantees completeness.
import { parseFrame, type ServerFrame } from "../../api/messaging";
import type { ItemUpload } from "../../crypto";

export type SendAnswer = Extract<ServerFrame, { type: "ack" } | { type: "refused" }>;

/** A `send` frame that got no answer on this connection: the socket was not open, closed before
 * the answer, took too long, or the item is too large for a frame. Post the same bytes instead. */
export class NotSent extends Error {
  constructor() {
    super("not sent over the live connection");
    this.name = "NotSent";
  }
}

export interface EventSocketOptions {
  readonly onFrame: (frame: ServerFrame) => void;
  /** After every `hello`: the first connection and each reconnection. */
  readonly onConnected: () => void;
  readonly onStatus?: (status: SocketStatus) => void;
  /** The server closed with 4401: the session may have ended (idle logoff while the tab sat open). */
  readonly onNotAuthenticated?: () => void;
  /** For tests: the socket constructor and the URL. */
  readonly create?: (url: string) => WebSocket;
  readonly url?: string;
}

export type SocketStatus = "connecting" | "open" | "offline" | "stopped";

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];
/** Frames are at most 64 KiB (docs/api/websocket.md); larger items go over HTTP. */
const SEND_FRAME_MAX = 64 * 1024;
const ANSWER_WITHIN_MS = 15_000;

interface Waiting {
  readonly resolve: (answer: SendAnswer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export function eventsUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws/events`;
}

export class EventSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private pingId = 0;
  private nextRef = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly options: EventSocketOptions) {}

  start(): void {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.drop();
    this.options.onStatus?.("stopped");
  }

  /** Connect now if not connected (a page wants live frames): skips the rest of a backoff. */
  kick(): void {
    if (this.stopped || this.ws !== null) return;
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Sends a frame if connected; returns whether it went out. */
  send(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends an item as a `send` frame (docs/api/messaging.md) and resolves with the server's `ack`
   * or `refused` for it. Rejects with `NotSent` when it could not be sent or answered here; the
   * item may still have been stored, so the caller posts the same bytes (idempotent).
   */
  sendItem(clientId: string, item: ItemUpload): Promise<SendAnswer> {
    const ws = this.ws;
    const ref = this.nextRef++;
    const text = JSON.stringify({ type: "send", ref, client_id: clientId, item });
    if (ws?.readyState !== WebSocket.OPEN || new TextEncoder().encode(text).length > SEND_FRAME_MAX) {
      return Promise.reject(new NotSent());
    }
    return new Promise<SendAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new NotSent());
      }, ANSWER_WITHIN_MS);
      this.waiting.set(ref, { resolve, reject, timer });
      ws.send(text);
    });
  }

  private failWaiting(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new NotSent());
    }
    this.waiting.clear();
  }

  private readonly onOnline = (): void => {
    // Back online: connect now rather than at the end of a long backoff.
    if (this.stopped) return;
    this.attempt = 0;
    this.drop();
    this.connect();
  };

  private readonly onOffline = (): void => {
    // The socket may linger half-open while offline; closing it makes the next connect (and so
    // the catch-up) happen as soon as the network returns.
    this.drop();
    this.options.onStatus?.("offline");
    this.scheduleRetry(); // "online" may never fire; keep trying with backoff
  };

  private connect(): void {
    if (this.stopped || this.ws !== null) return;
    // navigator.onLine is only a hint (it reads false on hosts with loopback only): always try.
    this.options.onStatus?.("connecting");
    let ws: WebSocket;
    try {
      ws = (this.options.create ?? ((u) => new WebSocket(u)))(this.options.url ?? eventsUrl());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (event: MessageEvent) => {
      if (this.ws !== ws) return;
      const frame = parseFrame(event.data);
      if (frame === null) return; // not ours to guess at
      if (frame.type === "hello") {
        this.attempt = 0;
        this.startPings();
        this.options.onStatus?.("open");
        this.options.onConnected();
        return;
      }
      if (frame.type === "pong") {
        clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
        return;
      }
      if (frame.type === "ack" || frame.type === "refused") {
        const w = this.waiting.get(frame.ref);
        if (w === undefined) return; // an answer for an earlier connection's send
        this.waiting.delete(frame.ref);
        clearTimeout(w.timer);
        w.resolve(frame);
        return;
      }
      this.options.onFrame(frame);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPings();
      this.failWaiting();
      // 4401: the server says the session is over (or not set up yet). The owner asks over HTTP,
      // whose 401 forgets the keys; until then a retry is harmless (a refused handshake).
      if (event.code === 4401) this.options.onNotAuthenticated?.();
      this.scheduleRetry();
    };
    ws.onerror = () => {
      // onclose follows and schedules the retry
    };
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 30_000;
    this.attempt++;
    const jitter = crypto.getRandomValues(new Uint16Array(1))[0] ?? 0;
    const delay = base / 2 + (jitter / 65535) * (base / 2); // jitter: not every tab at once
    clearTimeout(this.retryTimer);
    this.options.onStatus?.("connecting");
    this.retryTimer = setTimeout(() => {
      this.connect();
    }, delay);
  }

  private startPings(): void {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      this.pingId++;
      if (!this.send({ type: "ping", id: this.pingId })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        // No answer: the connection is dead even if the browser has not noticed.
        this.drop();
        this.scheduleRetry();
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  private stopPings(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }

  private drop(): void {
    clearTimeout(this.retryTimer);
    this.stopPings();
    this.failWaiting();
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }
}
