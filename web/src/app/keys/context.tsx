// The unlocked account of this tab, in React state only (crypto-protocol §4.3: account keys
// live in memory per tab, never at rest). It is forgotten on Lock, sign-out, idle logoff (any
// 401 from the API) and `pagehide`; a reload starts locked.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { SIGNED_OUT_EVENT } from "../../api/client";
import type { KeySession } from "./types";

export interface KeyActions {
  /** Forget the keys of this tab now. */
  readonly lock: () => void;
  /** Hold a freshly unlocked session. */
  readonly unlocked: (session: KeySession) => void;
}

const SessionContext = createContext<KeySession | null>(null);
const ActionsContext = createContext<KeyActions>({
  lock: () => undefined,
  unlocked: () => undefined,
});

/** Set by Lock: a remembered device does not unlock again by itself until the next sign-in. */
const LOCKED_FLAG = "quietroom.locked";

export function lockedByUser(): boolean {
  try {
    return window.sessionStorage.getItem(LOCKED_FLAG) === "1";
  } catch {
    return false;
  }
}

export function clearLockedByUser(): void {
  try {
    window.sessionStorage.removeItem(LOCKED_FLAG);
  } catch {
    // storage off: nothing was set either
  }
}

function markLockedByUser(): void {
  try {
    window.sessionStorage.setItem(LOCKED_FLAG, "1");
  } catch {
    // storage off: a reload may unlock a remembered device again
  }
}

export function KeysProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<KeySession | null>(null);

  const forget = useCallback((): void => {
    setSession(null);
  }, []);

  useEffect(() => {
    window.addEventListener("pagehide", forget);
    window.addEventListener(SIGNED_OUT_EVENT, forget);
    return () => {
      window.removeEventListener("pagehide", forget);
      window.removeEventListener(SIGNED_OUT_EVENT, forget);
    };
  }, [forget]);

  const actions = useMemo<KeyActions>(
    () => ({
      lock: () => {
        markLockedByUser();
        setSession(null);
      },
      unlocked: (next) => {
        clearLockedByUser();
        setSession(next);
      },
    }),
    [],
  );

  return (
    <ActionsContext.Provider value={actions}>
      <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
    </ActionsContext.Provider>
  );
}

/** The unlocked keys, or null while the account is locked. */
export function useKeySession(): KeySession | null {
  return useContext(SessionContext);
}

export function useKeyActions(): KeyActions {
  return useContext(ActionsContext);
}
