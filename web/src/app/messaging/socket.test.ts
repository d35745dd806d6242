// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerFrame } from "../../api/messaging";
import type { ItemUpload } from "../../crypto";
import { EventSocket, NotSent } from "./socket";

class FakeSocket {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {
    this.closed = true;
  }
  serverSays(frame: unknown): void {
    this.readyState = 1;
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

describe("the live socket", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function make(): { socket: EventSocket; frames: ServerFrame[]; connects: number[] } {
    const frames: ServerFrame[] = [];
    const connects: number[] = [];
    const socket = new EventSocket({
      url: "ws://localhost/ws/events",
      create: (url) => new FakeSocket(url) as unknown as WebSocket,
      onFrame: (f) => frames.push(f),
      onConnected: () => connects.push(Date.now()),
    });
    return { socket, frames, connects };
  }

  it("reports each (re)connection, passes valid frames and drops the rest", () => {
    const { socket, frames, connects } = make();
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    expect(connects).toHaveLength(1);
    first.serverSays({ type: "read", client_id: "01890a5d-ac96-774b-bcce-b302099a8057", seq: 3 });
    first.serverSays({ type: "read", client_id: "nope", seq: 3 });
    first.serverSays("not json");
    expect(frames.map((f) => f.type)).toEqual(["read"]);

    first.drop(4401); // even a refused session is retried: keys are held only while signed in
    expect(FakeSocket.made).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    const second = FakeSocket.made[1];
    if (second === undefined) throw new Error("no reconnect");
    second.serverSays({ type: "hello", version: 1 });
    expect(connects).toHaveLength(2);
    socket.stop();
    expect(second.closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it("asks its owner to check the session when the server closes with 4401, not otherwise", () => {
    let asked = 0;
    const socket = new EventSocket({
      url: "ws://localhost/ws/events",
      create: (url) => new FakeSocket(url) as unknown as WebSocket,
      onFrame: () => undefined,
      onConnected: () => undefined,
      onNotAuthenticated: () => {
        asked += 1;
      },
    });
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    first.drop(1006);
    expect(asked).toBe(0);
    vi.advanceTimersByTime(1_000);
    const second = FakeSocket.made[1];
    if (second === undefined) throw new Error("no reconnect");
    second.drop(4401); // the session passed its idle limit while the tab sat open
    expect(asked).toBe(1);
    socket.stop();
  });

  it("pings, and reconnects when no pong comes", () => {
    const { socket } = make();
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    vi.advanceTimersByTime(25_000);
    expect(first.sent.map((s) => (JSON.parse(s) as { type: string }).type)).toEqual(["ping"]);
    first.serverSays({ type: "pong", id: 1 });
    vi.advanceTimersByTime(25_000 + 10_000);
    expect(first.closed).toBe(true); // the second ping went unanswered
    vi.advanceTimersByTime(1_000);
    expect(FakeSocket.made).toHaveLength(2);
    socket.stop();
  });

  it("sends an item as a send frame and matches the answer to it by ref", async () => {
    const { socket, frames } = make();
    const item = { hdr: { item_id: "x" } } as unknown as ItemUpload;
    await expect(socket.sendItem("c", item)).rejects.toBeInstanceOf(NotSent); // not open yet
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    const one = socket.sendItem("c", item);
    const two = socket.sendItem("c", item);
    const [a, b] = first.sent.map((t) => JSON.parse(t) as { type: string; ref: number; client_id: string; item: unknown });
    if (a === undefined || b === undefined) throw new Error("not sent");
    expect(a).toEqual({ type: "send", ref: a.ref, client_id: "c", item });
    expect(b.ref).not.toBe(a.ref);
    const ack = { seq: 4, item_id: "01890a5d-ac96-774b-bcce-b302099a8057", received_at: 5 };
    first.serverSays({ type: "refused", ref: b.ref, code: "E_SIG", message: "No." });
    first.serverSays({ type: "ack", ref: a.ref, ...ack });
    first.serverSays({ type: "ack", ref: 999, ...ack }); // nobody waits for it: dropped
    expect(await one).toEqual({ type: "ack", ref: a.ref, ...ack });
    expect(await two).toMatchObject({ type: "refused", code: "E_SIG" });
    expect(frames).toEqual([]); // answers are not passed on as frames
    socket.stop();
  });

  it("gives up on a send when the connection closes, when no answer comes, or when too large", async () => {
    const { socket } = make();
    const item = { hdr: { item_id: "x" } } as unknown as ItemUpload;
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    const cut = socket.sendItem("c", item);
    first.drop(1006);
    await expect(cut).rejects.toBeInstanceOf(NotSent);

    vi.advanceTimersByTime(1_000);
    const second = FakeSocket.made[1];
    if (second === undefined) throw new Error("no reconnect");
    second.serverSays({ type: "hello", version: 1 });
    const silent = socket.sendItem("c", item);
    vi.advanceTimersByTime(15_000);
    await expect(silent).rejects.toBeInstanceOf(NotSent);

    const big = { hdr: { item_id: "x" }, body: { ct: "a".repeat(64 * 1024) } } as unknown as ItemUpload;
    await expect(socket.sendItem("c", big)).rejects.toBeInstanceOf(NotSent);
    expect(second.sent.filter((t) => t.includes('"send"'))).toHaveLength(1); // only `silent`
    socket.stop();
  });

  it("closes while offline and reconnects at once when back online", () => {
    const { socket } = make();
    socket.start();
    const first = FakeSocket.made[0];
    if (first === undefined) throw new Error("no socket");
    first.serverSays({ type: "hello", version: 1 });
    window.dispatchEvent(new Event("offline"));
    expect(first.closed).toBe(true);
    window.dispatchEvent(new Event("online"));
    expect(FakeSocket.made).toHaveLength(2);
    socket.stop();
  });
});
