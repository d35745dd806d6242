import { useEffect, useRef } from "react";
import { matchRoute, ROUTES } from "../routes";
import { Link } from "./Link";
import { usePathname } from "./navigation";
import { HomePage } from "../pages/HomePage";
import { SignInPage } from "../pages/SignInPage";
import { ProtectionPage } from "../pages/ProtectionPage";
import { SetupPage } from "../pages/SetupPage";
import { NotFoundPage } from "../pages/NotFoundPage";

const TITLES: Record<string, string> = {
  [ROUTES.home]: "Quietroom",
  [ROUTES.signIn]: "Sign in · Quietroom",
  [ROUTES.protection]: "How your data is protected · Quietroom",
  [ROUTES.setup]: "Set up your practice · Quietroom",
};

function Page({ path }: { path: string }) {
  switch (matchRoute(path)) {
    case ROUTES.home:
      return <HomePage />;
    case ROUTES.signIn:
      return <SignInPage />;
    case ROUTES.protection:
      return <ProtectionPage />;
    case ROUTES.setup:
      return <SetupPage />;
    default:
      return <NotFoundPage />;
  }
}

export function App() {
  const pathname = usePathname();
  const main = useRef<HTMLElement>(null);
  const firstPath = useRef(pathname);

  useEffect(() => {
    document.title = TITLES[pathname] ?? "Page not found · Quietroom";
    // After a navigation (not on first load, where the skip link comes first), move focus
    // to the new page so screen-reader users hear that it changed.
    if (pathname !== firstPath.current) {
      firstPath.current = "";
      main.current?.focus();
    }
  }, [pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to={ROUTES.home} className="brand">
          <span aria-hidden="true" className="brand-mark" />
          Quietroom
        </Link>
        <nav aria-label="Main">
          <Link to={ROUTES.protection}>How your data is protected</Link>
          <Link to={ROUTES.signIn} className="button button-small">
            Sign in
          </Link>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page path={pathname} />
      </main>
      <footer className="site-footer">
        <p>Quietroom runs on your practice&apos;s own server. Nothing on this site talks to anyone else.</p>
      </footer>
    </>
  );
}
