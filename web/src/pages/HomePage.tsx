import { Link } from "../app/Link";
import { ROUTES } from "../routes";

export function HomePage() {
  return (
    <section className="hero">
      <h1>A private room for your therapy, online</h1>
      <p className="lead">
        Meet your therapist by video, write to each other between sessions and fill in your forms. What you write is
        locked in your browser before it leaves your device, and only you, your care team and your practice can unlock
        it.
      </p>
      <div className="actions">
        <Link to={ROUTES.signIn} className="button">
          Sign in
        </Link>
        <Link to={ROUTES.protection} className="button button-quiet">
          How your data is protected
        </Link>
      </div>
    </section>
  );
}
