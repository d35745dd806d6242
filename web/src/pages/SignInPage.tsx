import { useId, useState, type SyntheticEvent } from "react";

export function SignInPage() {
  const emailId = useId();
  const passwordId = useId();
  const [notice, setNotice] = useState<string | null>(null);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    // Sign-in (with keys derived in this browser, so the password never leaves it) arrives
    // with the accounts capability. Until then nothing is sent anywhere.
    setNotice("Sign-in is not open on this server yet. Your practice will send you an invitation.");
  };

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">Your password never leaves this device: it unlocks your keys here, in the browser.</p>
      <form onSubmit={onSubmit} noValidate>
        <label htmlFor={emailId}>Email address</label>
        <input id={emailId} name="email" type="email" autoComplete="username" required />
        <label htmlFor={passwordId}>Password</label>
        <input id={passwordId} name="password" type="password" autoComplete="current-password" required />
        <button type="submit" className="button">
          Sign in
        </button>
      </form>
      {notice !== null && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
    </section>
  );
}
