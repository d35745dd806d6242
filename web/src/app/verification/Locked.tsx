import { Link } from "../Link";
import { ROUTES } from "../../routes";

/** What a page that needs the account's keys shows while they are locked. */
export function Locked({ title, what }: { title: string; what: string }) {
  return (
    <section className="card narrow">
      <h1>{title}</h1>
      <p>
        Unlock your account to {what}. Your keys open only here, in this browser, with your password or a remembered
        device.
      </p>
      <p>
        <Link to={ROUTES.signIn} className="button">
          Unlock
        </Link>
      </p>
    </section>
  );
}
