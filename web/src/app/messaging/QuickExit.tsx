// Quick exit for clients (issue #6): one tap, or Escape twice, forgets the keys, blanks the
// screen, signs out with site data cleared (keepalive, so it completes as the page goes) and
// replaces this history entry with a neutral page.
import { useCallback, useEffect, useRef } from "react";
import { postQuickExit } from "../../api/messaging";
import { useKeyActions } from "../keys/context";
import { forgetDrafts } from "./drafts";

const EXIT_PATH = "/exit";
/** Two Escape presses within this time count as "exit". */
const DOUBLE_ESCAPE_MS = 1_000;

export function useQuickExit(enabled: boolean): () => void {
  const { lock } = useKeyActions();
  const lastEscape = useRef(0);

  const exit = useCallback((): void => {
    lock();
    forgetDrafts();
    // Blank at once: nothing of the page stays visible while the browser leaves.
    document.title = "";
    document.documentElement.classList.add("quick-exit");
    document.body.replaceChildren();
    postQuickExit();
    window.location.replace(EXIT_PATH);
  }, [lock]);

  useEffect(() => {
    if (!enabled) return;
    const onKey = (event: KeyboardEvent): void => {
      if (event.key !== "Escape") return;
      const now = Date.now();
      if (now - lastEscape.current <= DOUBLE_ESCAPE_MS) exit();
      else lastEscape.current = now;
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
    };
  }, [enabled, exit]);

  return exit;
}

export function QuickExitButton({ onExit }: { onExit: () => void }) {
  return (
    <button type="button" className="quick-exit-button" onClick={onExit} title="Leave this site now (or press Escape twice)">
      Quick exit
    </button>
  );
}
