import { useEffect, useState } from "react";
import { fetchMeta, type Meta } from "../api/client";

export function ProtectionPage() {
  const [meta, setMeta] = useState<Meta | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let live = true;
    fetchMeta().then(
      (value) => {
        if (live) setMeta(value);
      },
      () => {
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  return (
    <article className="prose">
      <h1>How your data is protected</h1>
      <p className="lead">
        Your messages, forms, notes about you and files are locked in your browser and your therapist&apos;s before
        they leave the device. This server stores only sealed data it cannot open.
      </p>
      <h2>Who can read what you write</h2>
      <ul>
        <li>You, and the therapists on your care team.</li>
        <li>
          Your practice, through a recovery key it keeps offline, so that your record survives a lost password, as the
          law requires.
        </li>
        <li>Nobody else: not the hosting company, and not someone who copies this server.</li>
      </ul>
      <h2>What this server can see</h2>
      <p>
        To work at all, the server sees your email address and name, your practice and role, appointment times, and when
        and how much was sent, but never what was said.
      </p>
      <h2>No one else is watching</h2>
      <p>This site loads nothing from other companies: no analytics, no trackers, no outside fonts or scripts.</p>
      <p className="muted">
        This page will soon show the live settings of this server (timeouts, sign-in protection, backups and the access
        history).
      </p>
      <p className="muted" aria-live="polite">
        {meta !== null && `Software: ${meta.name} ${meta.version}`}
        {failed && "The server could not be reached just now."}
      </p>
    </article>
  );
}
