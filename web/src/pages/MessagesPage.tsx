// `/messages`: a therapist's inbox of their clients' conversations (newest activity first, unread
// counts kept live by the socket); a client goes straight to their one conversation. Privacy
// mode (remembered on this device) shows initials instead of names, for screens others can see.
import { useEffect, useState } from "react";
import { fetchConversations, type Summary } from "../api/messaging";
import { errorMessage } from "../app/usePagedList";
import { useKeySession } from "../app/keys/context";
import { Locked } from "../app/verification/Locked";
import { Link } from "../app/Link";
import { useLive } from "../app/messaging/live";
import { ROUTES } from "../routes";

const PRIVACY_KEY = "quietroom.privacy-mode";

function readPrivacy(): boolean {
  try {
    return window.localStorage.getItem(PRIVACY_KEY) === "1";
  } catch {
    return false;
  }
}

function writePrivacy(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(PRIVACY_KEY, "1");
    else window.localStorage.removeItem(PRIVACY_KEY);
  } catch {
    // storage off: the switch holds for this page only
  }
}

/** "Sam Client" → "S. C." */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/u).filter((p) => p !== "");
  if (parts.length === 0) return "?";
  return parts.map((p) => `${String.fromCodePoint(p.codePointAt(0) ?? 63).toUpperCase()}.`).join(" ");
}

export function conversationPath(clientId: string): string {
  return `${ROUTES.conversation}?client=${encodeURIComponent(clientId)}`;
}

function when(iso: string | null): string {
  if (iso === null) return "No messages yet";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function Inbox() {
  const { subscribe } = useLive();
  const [list, setList] = useState<Summary[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [privacy, setPrivacy] = useState(readPrivacy);

  const [round, setRound] = useState(0);

  useEffect(() => {
    let alive = true;
    fetchConversations().then(
      (conversations) => {
        if (!alive) return;
        setList(conversations);
        setProblem(null);
      },
      (error: unknown) => {
        if (alive) setProblem(errorMessage(error));
      },
    );
    return () => {
      alive = false;
    };
  }, [round]);

  useEffect(() => {
    const again = (): void => {
      setRound((r) => r + 1);
    };
    // Any new item or read mark may change the counts: ask the server again rather than guess.
    return subscribe((frame) => {
      if (frame.type === "item" || frame.type === "read" || frame.type === "conversation.closed") again();
    }, again);
  }, [subscribe]);

  return (
    <section className="page">
      <h1>Messages</h1>
      <p className="notice">
        Secure messages are not for emergencies. If you or a client are in danger, call your local emergency number.
      </p>
      <label className="privacy-switch">
        <input
          type="checkbox"
          checked={privacy}
          onChange={(event) => {
            setPrivacy(event.target.checked);
            writePrivacy(event.target.checked);
          }}
        />{" "}
        Privacy mode (show initials instead of names)
      </label>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {list === null && problem === null && <p className="status">Loading conversations…</p>}
      {list?.length === 0 && <p className="empty">No conversations yet. Clients on your care team appear here.</p>}
      {list !== null && list.length > 0 && (
        <ul className="inbox" aria-label="Conversations">
          {list.map((c) => {
            const name = privacy ? initials(c.client_name) : c.client_name;
            return (
              <li key={c.client_id} className={c.unread > 0 ? "inbox-unread" : undefined}>
                <Link to={conversationPath(c.client_id)}>{name}</Link>
                <span className="inbox-count" aria-label={`${String(c.unread)} unread`}>
                  {c.unread > 0 ? `${String(c.unread)} unread` : "No unread"}
                </span>
                <span className="inbox-when">{when(c.last_activity_at)}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** A client has one conversation: go there, replacing this entry so Back does not bounce. */
function ClientRedirect() {
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    fetchConversations().then(
      (list) => {
        if (!live) return;
        const mine = list[0];
        if (mine === undefined) {
          setProblem("Your conversation is not ready yet. Ask your practice.");
          return;
        }
        window.history.replaceState(null, "", conversationPath(mine.client_id));
        window.dispatchEvent(new PopStateEvent("popstate"));
      },
      (error: unknown) => {
        if (live) setProblem(errorMessage(error));
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return (
    <section className="page">
      <h1>Messages</h1>
      {problem === null ? (
        <p className="status">Opening your conversation…</p>
      ) : (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}

export function MessagesPage() {
  const session = useKeySession();
  if (session === null) return <Locked title="Messages" what="read and send secure messages" />;
  return session.role === "client" ? <ClientRedirect /> : <Inbox />;
}
