// `/conversation?client=<client_id>`: one client's conversation with their care team. Items are
// sealed and opened here in the browser (app/messaging/conversation.ts); the socket pushes new
// ones, and every (re)connect catches up over HTTP from the highest seq held, so nothing is
// missed or shown twice. A changed key blocks writing until it is acknowledged on Verify keys.
import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { ApiError } from "../api/client";
import { fetchItems, postRead } from "../api/messaging";
import { useKeySession } from "../app/keys/context";
import type { KeySession } from "../app/keys/types";
import { Link } from "../app/Link";
import { errorMessage } from "../app/usePagedList";
import { Locked } from "../app/verification/Locked";
import { failedCheck, type PeerState } from "../app/verification/pins";
import { AttachButton, AttachmentView } from "../app/messaging/attachments";
import {
  SealingBlocked,
  SendRefused,
  openConversation,
  openForView,
  sealMessage,
  type OpenedView,
  type PeerView,
} from "../app/messaging/conversation";
import { getDraft, setDraft } from "../app/messaging/drafts";
import { useLive } from "../app/messaging/live";
import { textProblem } from "../app/messaging/payload";
import { heldThrough, mergeBySeq } from "../app/messaging/timeline";
import type { ConversationContext, StoredItem } from "../app/messaging/types";
import type { ItemUpload } from "../crypto";
import { ROUTES } from "../routes";

interface Shown {
  readonly seq: number;
  readonly stored: StoredItem;
  readonly view: OpenedView | null;
}

interface Pending {
  readonly id: number;
  readonly text: string;
  readonly problem: string | null;
  /** The sealed upload, kept so a retry sends the same bytes. */
  readonly upload: ItemUpload | null;
}

const PAGE = 200;

function clientIdFromUrl(): string | null {
  const id = new URLSearchParams(window.location.search).get("client");
  return id === null || id === "" ? null : id;
}

function time(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function StateWord({ state }: { state: PeerState }) {
  switch (state.kind) {
    case "pinned":
      return state.verified ? <span className="state state-good">Verified</span> : <span className="state">Not yet verified</span>;
    case "changed":
      return <span className="state state-bad">Key changed</span>;
    case "uncertified": {
      const failed = failedCheck(state);
      return failed === null ? (
        <span className="state">Waiting for the practice to confirm their keys</span>
      ) : (
        <span className="state state-bad">Keys failed a check ({failed})</span>
      );
    }
    case "no-keys":
      return <span className="state">Has not set up secure messaging yet</span>;
  }
}

function Participants({ peers }: { peers: readonly PeerView[] }) {
  return (
    <ul className="participants" aria-label="Key verification">
      {peers.map((p) => (
        <li key={p.participant.user_id}>
          <span className="access-what">{p.participant.display_name}</span> <StateWord state={p.state} />
        </li>
      ))}
    </ul>
  );
}

/**
 * Team members whose keys cannot be checked (not confirmed by the practice yet, not set up, or
 * failing a check) are left out of what is sealed now. Say so, so nobody thinks they have read
 * it: the first two get it later through a grant (§7.9); a failed check can be an attack and
 * is said plainly. (The client is never left out: sending stops instead.)
 */
function NotYetReaders({ peers, clientUserId }: { peers: readonly PeerView[]; clientUserId: string }) {
  const left = peers.filter((p) => p.participant.user_id !== clientUserId && (p.state.kind === "uncertified" || p.state.kind === "no-keys"));
  const failed = left.filter((p) => failedCheck(p.state) !== null).map((p) => p.participant.display_name);
  const waiting = left.filter((p) => failedCheck(p.state) === null).map((p) => p.participant.display_name);
  return (
    <>
      {waiting.length > 0 && (
        <p className="hint">
          {waiting.join(", ")} cannot read new messages yet, because their keys are not confirmed. What you send meanwhile is shared with
          them once they are.
        </p>
      )}
      {failed.length > 0 && (
        <p role="alert" className="problem">
          {failed.join(", ")} cannot read what you send here: their keys failed a check, which can mean someone is interfering. Tell your
          practice by phone or in a session.
        </p>
      )}
    </>
  );
}

function Conversation({ session, clientId }: { session: KeySession; clientId: string }) {
  const { subscribe, sendItem } = useLive();
  const composerId = useId();
  const [ctx, setCtx] = useState<ConversationContext | null>(null);
  const [peers, setPeers] = useState<readonly PeerView[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [closed, setClosed] = useState(false);
  const [shown, setShown] = useState<Shown[]>([]);
  const [pending, setPending] = useState<Pending[]>([]);
  const [text, setText] = useState(() => getDraft(clientId));
  const [composerProblem, setComposerProblem] = useState<string | null>(null);
  const [blocked, setBlocked] = useState<string | null>(null);
  const held = useRef<Shown[]>([]);
  const readSent = useRef(0);
  const catching = useRef<Promise<void>>(Promise.resolve());
  const nextPending = useRef(1);
  const opening = useRef(new Set<number>());
  const grantMissing = useRef<((held: readonly StoredItem[]) => Promise<number>) | null>(null);
  const listEnd = useRef<HTMLDivElement>(null);

  const add = useCallback((incoming: Shown[]): void => {
    held.current = mergeBySeq(held.current, incoming);
    setShown(held.current);
  }, []);

  // Catch-ups run one after another, each from the highest seq held without a gap when it starts.
  const catchUp = useCallback((): Promise<void> => {
    const run = async (): Promise<void> => {
      for (;;) {
        const { items } = await fetchItems(clientId, heldThrough(held.current), PAGE);
        add(items.map((stored) => ({ seq: stored.seq, stored, view: null })));
        if (items.length < PAGE) return;
      }
    };
    catching.current = catching.current.then(run, run);
    return catching.current;
  }, [add, clientId]);

  // Open the conversation: info, peers' key states, the keys to seal to.
  useEffect(() => {
    let alive = true;
    openConversation(session, clientId).then(
      (opened) => {
        if (!alive) return;
        readSent.current = opened.ctx.info.read_seq;
        grantMissing.current = opened.grantMissing;
        setCtx(opened.ctx);
        setPeers(opened.peers);
        const changed = opened.peers.find((p) => p.state.kind === "changed");
        if (changed !== undefined) setBlocked(`${changed.participant.display_name}'s security code changed.`);
      },
      (error: unknown) => {
        if (!alive) return;
        setProblem(
          error instanceof ApiError && error.status === 404
            ? "This conversation is not available."
            : error instanceof ApiError
              ? errorMessage(error)
              : "This conversation could not be opened just now. Try again in a moment.",
        );
      },
    );
    return () => {
      alive = false;
    };
  }, [session, clientId]);

  // Live frames and catch-up on every (re)connect.
  useEffect(() => {
    if (ctx === null) return;
    // A 404 here means the caller left the conversation (removed from the care team) while a
    // socket was down and the `conversation.closed` frame was missed.
    const lost = (error: unknown): void => {
      if (error instanceof ApiError && error.status === 404) {
        held.current = [];
        setShown([]);
        setClosed(true);
      } else {
        setProblem(errorMessage(error));
      }
    };
    void catchUp().then(
      () => {
        // Someone who joined the care team later reads earlier items once a participant's
        // browser grants them (best effort: the next opening tries again).
        void grantMissing.current?.(held.current.map((x) => x.stored)).catch(() => undefined);
      },
      lost,
    );
    return subscribe(
      (frame) => {
        if (!("client_id" in frame) || frame.client_id !== clientId) return;
        if (frame.type === "conversation.closed") {
          held.current = [];
          setShown([]);
          setClosed(true);
        } else if (frame.type === "item") {
          if (frame.item !== null && frame.seq === heldThrough(held.current) + 1) {
            add([{ seq: frame.seq, stored: { seq: frame.seq, received_at: Date.now(), item: frame.item, grants: [] }, view: null }]);
          } else {
            void catchUp().catch(lost); // a gap or a large item: fetch in order
          }
        }
      },
      () => {
        void catchUp().catch(lost);
      },
    );
  }, [ctx, subscribe, clientId, add, catchUp]);

  // Open each item once (openForView never throws: a failure is a neutral line).
  useEffect(() => {
    if (ctx === null) return;
    for (const s of shown) {
      if (s.view !== null || opening.current.has(s.seq)) continue;
      opening.current.add(s.seq);
      void openForView(ctx, s.stored).then((view) => {
        held.current = held.current.map((x) => (x.seq === s.seq && x.view === null ? { ...x, view } : x));
        setShown(held.current);
      });
    }
  }, [ctx, shown]);

  // Read marks: when the newest item is on screen in a visible tab.
  useEffect(() => {
    if (ctx === null) return;
    const mark = (): void => {
      const top = heldThrough(held.current); // read only what is on screen, not past a gap
      if (document.visibilityState !== "visible" || top <= readSent.current) return;
      readSent.current = top;
      void postRead(clientId, top).catch(() => {
        readSent.current = 0; // try again next time
      });
    };
    mark();
    listEnd.current?.scrollIntoView({ block: "end" });
    document.addEventListener("visibilitychange", mark);
    return () => {
      document.removeEventListener("visibilitychange", mark);
    };
  }, [ctx, shown, clientId]);

  const deliver = useCallback(
    async (p: Pending): Promise<void> => {
      if (ctx === null) return;
      let upload = p.upload;
      try {
        upload ??= await sealMessage(ctx, p.text);
        const sealed = upload;
        setPending((list) => list.map((x) => (x.id === p.id ? { ...x, upload: sealed, problem: null } : x)));
        const ack = await ctx.send(sealed, sendItem);
        add([{ seq: ack.seq, stored: { seq: ack.seq, received_at: ack.received_at, item: sealed, grants: [] }, view: { kind: "text", text: p.text } }]);
        setPending((list) => list.filter((x) => x.id !== p.id));
      } catch (error) {
        let why: string;
        if (error instanceof SealingBlocked) {
          setBlocked(error.message);
          why = error.message;
        } else if (error instanceof SendRefused) {
          why = `Not sent: ${error.message}`;
          upload = null; // the server refused these bytes: do not offer them again
        } else {
          why = "Not sent yet: the server could not be reached.";
        }
        const kept = upload;
        setPending((list) => list.map((x) => (x.id === p.id ? { ...x, problem: why, upload: kept } : x)));
      }
    },
    [ctx, add, sendItem],
  );

  const submit = (): void => {
    const why = textProblem(text);
    if (why !== null) {
      setComposerProblem(why);
      return;
    }
    if (blocked !== null) return;
    setComposerProblem(null);
    const p: Pending = { id: nextPending.current++, text, problem: null, upload: null };
    setPending((list) => [...list, p]);
    setText("");
    setDraft(clientId, "");
    void deliver(p);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  if (problem !== null && ctx === null) {
    return (
      <section className="page">
        <h1>Conversation</h1>
        <p role="alert" className="problem">
          {problem}
        </p>
        <p>
          <Link to={ROUTES.messages}>Back to messages</Link>
        </p>
      </section>
    );
  }
  if (closed) {
    return (
      <section className="page">
        <h1>Conversation</h1>
        <p role="status">You are no longer part of this conversation.</p>
        <p>
          <Link to={ROUTES.messages}>Back to messages</Link>
        </p>
      </section>
    );
  }
  if (ctx === null) {
    return (
      <section className="page">
        <h1>Conversation</h1>
        <p className="status">Opening the conversation…</p>
      </section>
    );
  }

  const { info } = ctx;
  const names = new Map<string, string>([info.client, ...info.team].map((p) => [p.user_id, p.display_name]));
  const authorName = (userId: string): string =>
    userId === session.userId ? "You" : (names.get(userId) ?? "A former member of the care team");
  const title = session.role === "client" ? "Your care team" : info.client.display_name;

  return (
    <section className="page conversation">
      <h1>Conversation</h1>
      <p className="lead">{title}</p>
      <aside className="notice crisis" aria-labelledby="crisis-title">
        <h2 id="crisis-title">Not for emergencies</h2>
        <p>Messages may not be read for a while. If you are in danger, get help now:</p>
        <p className="crisis-resources">{info.crisis_resources === "" ? "Call your local emergency number." : info.crisis_resources}</p>
      </aside>
      <Participants peers={peers} />
      {blocked !== null && (
        <p role="alert" className="problem">
          {blocked} Writing is paused until you check it on <Link to={ROUTES.verify}>Verify keys</Link>.
        </p>
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      <ol className="messages" aria-label="Messages">
        {shown.map((s) => {
          const mine = s.stored.item.hdr.author_user_id === session.userId;
          return (
            <li key={s.seq} className={mine ? "message message-mine" : "message"}>
              <p className="message-meta">
                <span className="message-author">{authorName(s.stored.item.hdr.author_user_id)}</span>{" "}
                <time dateTime={new Date(s.stored.item.hdr.created_at).toISOString()}>{time(s.stored.item.hdr.created_at)}</time>
                {mine && <span className="message-sent"> · Sent</span>}
              </p>
              {s.view === null && <p className="status">Opening…</p>}
              {s.view?.kind === "text" && <p className="message-text">{s.view.text}</p>}
              {s.view?.kind === "file" && <AttachmentView stored={s.stored} conversation={ctx} />}
              {s.view?.kind === "failed" && <p className="message-failed">This message could not be opened ({s.view.code}).</p>}
            </li>
          );
        })}
        {pending
          // Our own item can arrive over the socket before the answer to the POST does.
          .filter((p) => p.upload === null || !shown.some((x) => x.stored.item.hdr.item_id === p.upload?.hdr.item_id))
          .map((p) => (
          <li key={`pending-${String(p.id)}`} className="message message-mine message-pending">
            <p className="message-meta">
              <span className="message-author">You</span>{" "}
              <span role="status">{p.problem === null ? "Sending…" : "Not sent"}</span>
            </p>
            <p className="message-text">{p.text}</p>
            {p.problem !== null && (
              <p className="problem">
                {p.problem}{" "}
                {p.upload !== null && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setPending((list) => list.map((x) => (x.id === p.id ? { ...x, problem: null } : x)));
                      void deliver(p);
                    }}
                  >
                    Try again
                  </button>
                )}{" "}
                <button
                  type="button"
                  className="link-button"
                  onClick={() => {
                    setPending((list) => list.filter((x) => x.id !== p.id));
                  }}
                >
                  Discard
                </button>
              </p>
            )}
          </li>
        ))}
      </ol>
      {shown.length === 0 && pending.length === 0 && <p className="empty">No messages yet.</p>}
      <div ref={listEnd} />
      <form
        className="composer"
        aria-label="Write a message"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <label htmlFor={composerId}>Message</label>
        <textarea
          id={composerId}
          rows={3}
          value={text}
          disabled={blocked !== null}
          onChange={(event) => {
            setText(event.target.value);
            setDraft(clientId, event.target.value);
          }}
          onKeyDown={onKeyDown}
        />
        <p className="hint">Enter sends, Shift+Enter starts a new line. Unsent text stays in this tab only.</p>
        <NotYetReaders peers={peers} clientUserId={info.client.user_id} />
        {composerProblem !== null && (
          <p role="alert" className="problem">
            {composerProblem}
          </p>
        )}
        <div className="composer-actions">
          <button type="submit" className="button" disabled={blocked !== null}>
            Send
          </button>
          {blocked === null && (
            <AttachButton
              conversation={ctx}
              onSent={() => {
                void catchUp().catch(() => undefined);
              }}
            />
          )}
        </div>
      </form>
    </section>
  );
}

export function ConversationPage() {
  const session = useKeySession();
  const clientId = clientIdFromUrl();
  if (session === null) return <Locked title="Conversation" what="read and send secure messages" />;
  if (clientId === null) {
    return (
      <section className="page">
        <h1>Conversation</h1>
        <p>
          No conversation was chosen. <Link to={ROUTES.messages}>Go to messages</Link>.
        </p>
      </section>
    );
  }
  return <Conversation key={clientId} session={session} clientId={clientId} />;
}
