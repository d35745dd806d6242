import { Link } from "../app/Link";
import { ROUTES } from "../routes";

export function NotFoundPage() {
  return (
    <section className="card narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link to={ROUTES.home}>Go to the start page</Link>
    </section>
  );
}
