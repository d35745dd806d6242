// Downloads of sensitive exports. The server wants a sign-in or re-authentication within the
// last five minutes for these (docs/api/http.md, `reauthentication_required`), so the page
// asks for the password first and only then follows the link: a plain link would otherwise
// save an error document instead of the export.
import { useState } from "react";
import { authSession, reauthenticate } from "../api/allauth";
import { deriveAuthKey } from "./unlock";
import { BAD_SECRET_KEY, ConfirmItsYou, secretKeyFor, type Me } from "./TwoStepSetup";
import { useKeySession } from "./keys/context";

const NOT_RIGHT = "That password or Secret Key is not right.";

function download(href: string): void {
  const link = document.createElement("a");
  link.href = href;
  link.download = "";
  link.click();
}

export function ExportLinks({ links }: { links: readonly { label: string; href: string }[] }) {
  const keys = useKeySession();
  const [target, setTarget] = useState<string | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const ask = (href: string): void => {
    setProblem(null);
    setTarget(href);
    void (async () => {
      const auth = await authSession();
      const email = auth.kind === "signed-in" ? (auth.user.email ?? "") : "";
      const stored = keys === null ? undefined : (await keys.keystore.getDevice(keys.userId))?.secretKey;
      setMe({ email, staff: true, ...(stored === undefined ? {} : { secretKey: stored }) });
    })().catch(() => {
      setProblem("The server could not be reached. Try again in a moment.");
    });
  };

  const confirm = (password: string, secretKeyText: string): void => {
    if (me === null || target === null) return;
    let secretKey: Uint8Array | undefined;
    try {
      secretKey = secretKeyFor(me, secretKeyText);
    } catch {
      setProblem(BAD_SECRET_KEY);
      return;
    }
    setBusy(true);
    setProblem(null);
    void (async () => {
      try {
        const outcome = await reauthenticate(await deriveAuthKey(me.email, password, secretKey));
        if (outcome.kind !== "signed-in") {
          setProblem(NOT_RIGHT);
          return;
        }
        download(target);
        setTarget(null);
      } catch {
        setProblem(NOT_RIGHT);
      } finally {
        secretKey?.fill(0);
        setBusy(false);
      }
    })();
  };

  return (
    <div className="export-links">
      <div className="actions">
        {links.map((link) => (
          <button
            key={link.label}
            type="button"
            className="button button-quiet button-small"
            onClick={() => {
              ask(link.href);
            }}
          >
            {link.label}
          </button>
        ))}
      </div>
      {target !== null && me !== null && (
        <ConfirmItsYou
          me={me}
          busy={busy}
          why="Exporting needs your password again"
          onConfirm={confirm}
          onCancel={() => {
            setTarget(null);
            setProblem(null);
          }}
        />
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </div>
  );
}
