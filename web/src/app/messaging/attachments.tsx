// The composer's "Attach a file" control and the view of a file item. Previews use `blob:`
// URLs made only after the whole file decrypted and verified; every URL is revoked when its
// view goes away.
import { useEffect, useId, useRef, useState, type ChangeEvent } from "react";
import { AttachmentProblem, formatSize, openFile, refusal, sendFile, type OpenedFile, type Progress } from "./attachmentTransfer";
import type { Ack, ConversationContext, StoredItem } from "./types";

/** Files up to this size open on their own when shown; larger ones wait for a click. */
const AUTO_OPEN_BYTES = 10 * 1024 * 1024;

export function AttachButton({ conversation, onSent }: { conversation: ConversationContext; onSent: (ack: Ack) => void }) {
  const inputId = useId();
  const progressId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState("");

  const onChange = (event: ChangeEvent<HTMLInputElement>): void => {
    const file = event.target.files?.[0];
    event.target.value = ""; // the same file can be picked again after a failure
    if (file === undefined) return;
    setDone("");
    const refused = refusal(file, conversation.info.attachment_max_bytes);
    if (refused !== null) {
      setProblem(refused);
      return;
    }
    setProblem(null);
    setName(file.name);
    setProgress({ sent: 0, total: 1 });
    sendFile(conversation, file, setProgress).then(
      (ack) => {
        setProgress(null);
        setDone(`${file.name} was sent.`);
        onSent(ack);
      },
      (error: unknown) => {
        setProgress(null);
        setProblem(error instanceof AttachmentProblem ? error.message : "The file could not be sent. Try again.");
      },
    );
  };

  const sending = progress !== null;
  return (
    <div className="attach">
      <input id={inputId} ref={input} type="file" className="visually-hidden" tabIndex={-1} onChange={onChange} disabled={sending} />
      <button
        type="button"
        className="button button-quiet"
        disabled={sending}
        onClick={() => {
          input.current?.click();
        }}
      >
        Attach a file
      </button>
      <label htmlFor={inputId} className="visually-hidden">
        File to send
      </label>
      {sending && (
        <div className="attach-progress">
          <label htmlFor={progressId}>Sending {name}</label>
          <progress id={progressId} max={progress.total} value={progress.sent}>
            {Math.round((100 * progress.sent) / progress.total)}%
          </progress>
        </div>
      )}
      <p role="status" className="status">
        {done}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </div>
  );
}

type ViewState = { kind: "closed" } | { kind: "opening" } | { kind: "open"; file: OpenedFile; url: string } | { kind: "failed"; message: string };

export function AttachmentView({ stored, conversation }: { stored: StoredItem; conversation: ConversationContext }) {
  const size = stored.item.hdr.body.size;
  const [state, setState] = useState<ViewState>(size <= AUTO_OPEN_BYTES ? { kind: "opening" } : { kind: "closed" });
  const [round, setRound] = useState(size <= AUTO_OPEN_BYTES ? 1 : 0);

  useEffect(() => {
    if (round === 0) return;
    let live = true;
    let url: string | null = null;
    openFile(conversation, stored).then(
      (file) => {
        if (!live) return;
        url = URL.createObjectURL(file.blob);
        setState({ kind: "open", file, url });
      },
      (error: unknown) => {
        if (live) setState({ kind: "failed", message: error instanceof AttachmentProblem ? error.message : "This file could not be opened." });
      },
    );
    return () => {
      live = false;
      if (url !== null) URL.revokeObjectURL(url);
    };
  }, [conversation, stored, round]);

  return (
    <div className="attachment">
      {state.kind === "closed" && (
        <button
          type="button"
          className="button button-small"
          onClick={() => {
            setState({ kind: "opening" });
            setRound((r) => r + 1);
          }}
        >
          Open file ({formatSize(size)})
        </button>
      )}
      {state.kind === "opening" && <p className="status">Opening the file…</p>}
      {state.kind === "failed" && (
        <p role="alert" className="problem">
          {state.message}
        </p>
      )}
      {state.kind === "open" && (
        <>
          {state.file.preview && <img className="attachment-preview" src={state.url} alt={state.file.meta.name} />}
          <a className="attachment-download" href={state.url} download={state.file.meta.name}>
            Download {state.file.meta.name}
          </a>{" "}
          <span className="muted">({formatSize(state.file.meta.size)})</span>
        </>
      )}
    </div>
  );
}
