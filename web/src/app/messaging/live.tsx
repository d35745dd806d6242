// One live connection per tab while the keys are unlocked, shared by the inbox and the
// conversation page. Pages subscribe to frames and to "(re)connected", after which they catch
// up over HTTP. Drafts are forgotten with the keys.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { ServerFrame } from "../../api/messaging";
import type { ItemUpload } from "../../crypto";
import { fetchSession } from "../../api/session";
import { useKeySession } from "../keys/context";
import { sendPreferringSocket } from "./conversation";
import { forgetDrafts } from "./drafts";
import { EventSocket, type SocketStatus } from "./socket";
import type { Ack } from "./types";

type FrameListener = (frame: ServerFrame) => void;
type ConnectListener = () => void;

interface Live {
  readonly status: SocketStatus;
  /** Returns the unsubscribe function. */
  readonly subscribe: (onFrame: FrameListener, onConnected?: ConnectListener) => () => void;
  /** One attempt at storing an item: over the live socket when open, else over HTTP. */
  readonly sendItem: (clientId: string, upload: ItemUpload) => Promise<Ack>;
}

const LiveContext = createContext<Live>({
  status: "stopped",
  subscribe: () => () => undefined,
  sendItem: (clientId, upload) => sendPreferringSocket(null, clientId, upload),
});

export function LiveProvider({ children }: { children: ReactNode }) {
  const session = useKeySession();
  const userId = session?.userId ?? null;
  const [status, setStatus] = useState<SocketStatus>("stopped");
  const frames = useRef(new Set<FrameListener>());
  const connects = useRef(new Set<ConnectListener>());
  const socketRef = useRef<EventSocket | null>(null);

  useEffect(() => {
    if (userId === null) {
      forgetDrafts();
      return;
    }
    const socket = new EventSocket({
      onFrame: (frame) => {
        for (const l of [...frames.current]) l(frame);
      },
      onConnected: () => {
        for (const l of [...connects.current]) l();
      },
      onStatus: setStatus,
      // An HTTP 401 here signs the tab out and forgets the keys (api/client.ts).
      onNotAuthenticated: () => {
        void fetchSession().catch(() => undefined);
      },
    });
    socket.start();
    socketRef.current = socket;
    return () => {
      socket.stop();
      socketRef.current = null;
    };
  }, [userId]);

  // Stable across status changes: a page subscribes once, and catches up on (re)connect
  // (onConnected), not each time the status flickers while the socket is down.
  const subscribe = useCallback<Live["subscribe"]>((onFrame, onConnected) => {
    frames.current.add(onFrame);
    if (onConnected !== undefined) connects.current.add(onConnected);
    socketRef.current?.kick();
    return () => {
      frames.current.delete(onFrame);
      if (onConnected !== undefined) connects.current.delete(onConnected);
    };
  }, []);
  const sendItem = useCallback<Live["sendItem"]>(
    (clientId, upload) => sendPreferringSocket(socketRef.current, clientId, upload),
    [],
  );
  const live = useMemo<Live>(() => ({ status, subscribe, sendItem }), [status, subscribe, sendItem]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  return useContext(LiveContext);
}
