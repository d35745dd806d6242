function readToken(): string | null {
  // The set-up token travels in the fragment, which browsers never send to the server.
  const match = /(?:^|&)token=([A-Za-z0-9_-]{20,})(?:&|$)/.exec(window.location.hash.slice(1));
  return match?.[1] ?? null;
}

export function SetupPage() {
  const token = readToken();
  return (
    <section className="card narrow">
      <h1>Set up your practice</h1>
      {token === null ? (
        <p role="alert">
          This page needs the one-time link printed when Quietroom first started. Run{" "}
          <code>quietroom setup-link</code> on the server to print a new one.
        </p>
      ) : (
        <p>
          Your set-up link is here. Creating the practice and its recovery key arrives with the next release of this
          server; keep the link until then.
        </p>
      )}
    </section>
  );
}
