import { useId, useState, type SyntheticEvent } from "react";
import { ApiError } from "../api/client";
import { requestPasswordReset } from "../api/recovery";
import { formText } from "../app/forms";
import { Link } from "../app/Link";
import { ROUTES } from "../routes";

// The same words whether or not the address has an account: saying otherwise would tell anyone
// who is a client of this practice (AU-03).
const SENT =
  "If this address belongs to an account here, we have sent it a link to choose a new password. The link works once, for 10 minutes.";

export function ForgotPasswordPage() {
  const emailId = useId();
  const [state, setState] = useState<"idle" | "sending" | "sent">("idle");
  const [problem, setProblem] = useState<string | null>(null);

  const onSubmit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const email = formText(new FormData(event.currentTarget), "email").trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      setProblem("Enter the email address you sign in with.");
      return;
    }
    setProblem(null);
    setState("sending");
    requestPasswordReset(email).then(
      () => {
        setState("sent");
      },
      (error: unknown) => {
        setState("idle");
        setProblem(
          error instanceof ApiError && error.status === 429
            ? "There have been too many requests. Wait a few minutes and try again."
            : error instanceof ApiError && error.status === 400
              ? "Enter the email address you sign in with."
              : "The server could not be reached just now. Check your connection and try again.",
        );
      },
    );
  };

  return (
    <section className="card narrow">
      <h1>Forgot your password</h1>
      {state === "sent" ? (
        <p role="status">{SENT}</p>
      ) : (
        <>
          <p className="muted">
            We send a link to choose a new password. A new password lets you sign in again. Your encrypted records then
            open again on a device you told us to remember, or with your practice&apos;s help.
          </p>
          <form onSubmit={onSubmit} noValidate aria-label="Ask for a reset link" aria-busy={state === "sending"}>
            <label htmlFor={emailId}>Email address</label>
            <input id={emailId} name="email" type="email" autoComplete="username" required />
            <button type="submit" className="button" disabled={state === "sending"}>
              Send the link
            </button>
          </form>
        </>
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      <p>
        <Link to={ROUTES.signIn}>Back to sign in</Link>
      </p>
    </section>
  );
}
