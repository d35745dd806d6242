import { useCallback, useEffect, useRef, useState } from "react";
import { accountInfo, type AccountInfo } from "./keys/account";
import { KeysProvider, clearLockedByUser, lockedByUser, useKeyActions, useKeySession } from "./keys/context";
import { unlockAccount } from "./keys/open";
import { matchRoute, ROUTES } from "../routes";
import { Link } from "./Link";
import { navigate, usePathname } from "./navigation";
import { logout } from "../api/allauth";
import { fetchSession, isClient, isStaff, type Session } from "../api/session";
import { HomePage } from "../pages/HomePage";
import { SignInPage } from "../pages/SignInPage";
import { ProtectionPage } from "../pages/ProtectionPage";
import { SetupPage } from "../pages/SetupPage";
import { MyAccessPage } from "../pages/MyAccessPage";
import { AuditPage } from "../pages/AuditPage";
import { SecurityPage } from "../pages/SecurityPage";
import { NotFoundPage } from "../pages/NotFoundPage";
import { JoinPage } from "../pages/JoinPage";
import { WelcomePage } from "../pages/WelcomePage";
import { TeamPage } from "../pages/TeamPage";
import { VerifyPage } from "../pages/VerifyPage";
import { ForgotPasswordPage } from "../pages/ForgotPasswordPage";
import { ResetPasswordPage } from "../pages/ResetPasswordPage";
import { RecoverPage } from "../pages/RecoverPage";
import { MessagesPage } from "../pages/MessagesPage";
import { ConversationPage } from "../pages/ConversationPage";
import { LiveProvider } from "./messaging/live";
import { QuickExitButton, useQuickExit } from "./messaging/QuickExit";

const TITLES: Record<string, string> = {
  [ROUTES.home]: "Quietroom",
  [ROUTES.signIn]: "Sign in · Quietroom",
  [ROUTES.protection]: "How your data is protected · Quietroom",
  [ROUTES.setup]: "Set up your practice · Quietroom",
  [ROUTES.myAccess]: "Who has seen my file · Quietroom",
  [ROUTES.audit]: "Audit trail · Quietroom",
  [ROUTES.security]: "Security · Quietroom",
  [ROUTES.join]: "Join your practice · Quietroom",
  [ROUTES.welcome]: "Welcome · Quietroom",
  [ROUTES.team]: "Team · Quietroom",
  [ROUTES.verify]: "Verify keys · Quietroom",
  [ROUTES.forgotPassword]: "Forgot your password · Quietroom",
  [ROUTES.resetPassword]: "Choose a new password · Quietroom",
  [ROUTES.recover]: "Recover your account · Quietroom",
  [ROUTES.messages]: "Messages · Quietroom",
  [ROUTES.conversation]: "Conversation · Quietroom",
};

// "unknown": the session could not be asked for (offline, unexpected answer).
type SessionState =
  | { kind: "loading" }
  | { kind: "signed-out" }
  | { kind: "unknown" }
  | { kind: "signed-in"; session: Session };

function Page({
  path,
  info,
  onSessionChange,
}: {
  path: string;
  info: AccountInfo | null;
  onSessionChange: () => Promise<void>;
}) {
  switch (matchRoute(path)) {
    case ROUTES.home:
      return <HomePage />;
    case ROUTES.signIn:
      return <SignInPage onSignedIn={onSessionChange} info={info} />;
    case ROUTES.security:
      return <SecurityPage onSessionChange={onSessionChange} />;
    case ROUTES.protection:
      return <ProtectionPage />;
    case ROUTES.setup:
      return <SetupPage onSessionChange={onSessionChange} />;
    case ROUTES.myAccess:
      return <MyAccessPage />;
    case ROUTES.audit:
      return <AuditPage />;
    case ROUTES.join:
      return <JoinPage onSessionChange={onSessionChange} />;
    case ROUTES.welcome:
      return <WelcomePage info={info} onSessionChange={onSessionChange} />;
    case ROUTES.team:
      return <TeamPage />;
    case ROUTES.verify:
      return <VerifyPage />;
    case ROUTES.forgotPassword:
      return <ForgotPasswordPage />;
    case ROUTES.resetPassword:
      return <ResetPasswordPage />;
    case ROUTES.recover:
      return <RecoverPage onRecovered={onSessionChange} />;
    case ROUTES.messages:
      return <MessagesPage />;
    case ROUTES.conversation:
      return <ConversationPage />;
    default:
      return <NotFoundPage />;
  }
}

function Navigation({ state, onSignOut }: { state: SessionState; onSignOut: () => Promise<void> }) {
  const session = state.kind === "signed-in" ? state.session : null;
  const [signingOut, setSigningOut] = useState(false);
  const signOut = (): void => {
    setSigningOut(true);
    void onSignOut().finally(() => {
      setSigningOut(false);
    });
  };
  return (
    <nav aria-label="Main">
      {session !== null && <Link to={ROUTES.messages}>Messages</Link>}
      {session !== null && isClient(session) && <Link to={ROUTES.myAccess}>Who has seen my file</Link>}
      {session !== null && isStaff(session) && <Link to={ROUTES.team}>Team</Link>}
      {session !== null && <Link to={ROUTES.verify}>Verify keys</Link>}
      {session !== null && isStaff(session) && <Link to={ROUTES.audit}>Audit trail</Link>}
      {session !== null && <Link to={ROUTES.security}>Security</Link>}
      <Link to={ROUTES.protection}>How your data is protected</Link>
      {session !== null && (
        <button type="button" className="button button-small button-quiet" onClick={signOut} disabled={signingOut}>
          Sign out
        </button>
      )}
      {(state.kind === "signed-out" || state.kind === "unknown") && (
        <Link to={ROUTES.signIn} className="button button-small">
          Sign in
        </Link>
      )}
    </nav>
  );
}

/** Pages a signed-in staff member without two-step verification, or with locked keys, may see. */
const OPEN_WHILE_ENROLLING: ReadonlySet<string> = new Set([ROUTES.welcome, ROUTES.protection, ROUTES.security]);
const OPEN_WHILE_LOCKED: ReadonlySet<string> = new Set([
  ROUTES.recover,
  ROUTES.protection,
  ROUTES.forgotPassword,
  ROUTES.resetPassword,
  ROUTES.security,
]);

export function App() {
  return (
    <KeysProvider>
      <LiveProvider>
        <Shell />
      </LiveProvider>
    </KeysProvider>
  );
}

function Shell() {
  const pathname = usePathname();
  const keySession = useKeySession();
  const keyActions = useKeyActions();
  const unlocking = useRef(false);
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

  // After signing in or out (or ending this session from the security page), ask again, so
  // the navigation follows without a reload.
  const refreshSession = useCallback(async (): Promise<void> => {
    try {
      const session = await fetchSession();
      setSessionState(session === null ? { kind: "signed-out" } : { kind: "signed-in", session });
    } catch {
      setSessionState({ kind: "unknown" });
    }
  }, []);

  const info = sessionState.kind === "signed-in" ? accountInfo(sessionState.session) : null;
  // Quick exit is for clients (someone nearby may be watching); shown on every page.
  const showQuickExit = sessionState.kind === "signed-in" && isClient(sessionState.session);
  const quickExit = useQuickExit(showQuickExit);

  // Staff enrol a second factor before anything else (docs/api/keys.md "Gates"); an account
  // whose keys wait for recovery goes to the recovery page.
  useEffect(() => {
    if (info === null) return;
    if (info.keys === "locked" && !OPEN_WHILE_LOCKED.has(pathname)) navigate(ROUTES.recover);
    else if (info.staff && info.mfaEnabled === false && !OPEN_WHILE_ENROLLING.has(pathname)) navigate(ROUTES.welcome);
  }, [info, pathname]);

  // A remembered device opens the keys without the password (§5.2), after a reload or a
  // passkey sign-in; not after the person pressed Lock in this tab.
  const userId = info?.userId ?? null;
  useEffect(() => {
    if (info === null || keySession !== null || info.keys !== "ready" || lockedByUser() || unlocking.current) return;
    if (pathname === ROUTES.setup || pathname === ROUTES.join) return; // those pages hold their own keys
    unlocking.current = true;
    unlockAccount({ info })
      .then((outcome) => {
        if (outcome.kind === "unlocked") keyActions.unlocked(outcome.session);
      })
      .catch(() => {
        // Stays locked: the sign-in page offers the password.
      })
      .finally(() => {
        unlocking.current = false;
      });
    // Once per signed-in account; `info` changes identity on every session refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [userId, keySession]);

  const signOut = useCallback(async (): Promise<void> => {
    keyActions.lock();
    clearLockedByUser(); // the next sign-in may use a remembered device again
    try {
      await logout();
    } catch {
      // Asked again below: the navigation shows whether this browser is still signed in.
    }
    await refreshSession();
    navigate(ROUTES.home);
  }, [refreshSession, keyActions]);

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
        <Navigation state={sessionState} onSignOut={signOut} />
        {showQuickExit && <QuickExitButton onExit={quickExit} />}
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page path={pathname} info={info} onSessionChange={refreshSession} />
      </main>
      <footer className="site-footer">
        <p>Quietroom runs on your practice&apos;s own server. Nothing on this site talks to anyone else.</p>
      </footer>
    </>
  );
}
