import { useEffect, useRef, useState } from "react";
import { matchRoute, ROUTES } from "../routes";
import { Link } from "./Link";
import { usePathname } from "./navigation";
import { fetchSession, isClient, isStaff, type Session } from "../api/session";
import { HomePage } from "../pages/HomePage";
import { SignInPage } from "../pages/SignInPage";
import { ProtectionPage } from "../pages/ProtectionPage";
import { SetupPage } from "../pages/SetupPage";
import { MyAccessPage } from "../pages/MyAccessPage";
import { AuditPage } from "../pages/AuditPage";
import { NotFoundPage } from "../pages/NotFoundPage";

const TITLES: Record<string, string> = {
  [ROUTES.home]: "Quietroom",
  [ROUTES.signIn]: "Sign in · Quietroom",
  [ROUTES.protection]: "How your data is protected · Quietroom",
  [ROUTES.setup]: "Set up your practice · Quietroom",
  [ROUTES.myAccess]: "Who has seen my file · Quietroom",
  [ROUTES.audit]: "Audit trail · Quietroom",
};

// "unknown": the session could not be asked for (offline, unexpected answer).
type SessionState =
  | { kind: "loading" }
  | { kind: "signed-out" }
  | { kind: "unknown" }
  | { kind: "signed-in"; session: Session };

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
    case ROUTES.myAccess:
      return <MyAccessPage />;
    case ROUTES.audit:
      return <AuditPage />;
    default:
      return <NotFoundPage />;
  }
}

function Navigation({ state }: { state: SessionState }) {
  const session = state.kind === "signed-in" ? state.session : null;
  return (
    <nav aria-label="Main">
      {session !== null && isClient(session) && <Link to={ROUTES.myAccess}>Who has seen my file</Link>}
      {session !== null && isStaff(session) && <Link to={ROUTES.audit}>Audit trail</Link>}
      <Link to={ROUTES.protection}>How your data is protected</Link>
      {(state.kind === "signed-out" || state.kind === "unknown") && (
        <Link to={ROUTES.signIn} className="button button-small">
          Sign in
        </Link>
      )}
    </nav>
  );
}

export function App() {
  const pathname = usePathname();
  const main = useRef<HTMLElement>(null);
  const firstPath = useRef(pathname);
  const [sessionState, setSessionState] = useState<SessionState>({ kind: "loading" });

  useEffect(() => {
    let live = true;
    fetchSession().then(
      (session) => {
        if (live) setSessionState(session === null ? { kind: "signed-out" } : { kind: "signed-in", session });
      },
      () => {
        if (live) setSessionState({ kind: "unknown" });
      },
    );
    return () => {
      live = false;
    };
  }, []);

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
        <Navigation state={sessionState} />
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
