// Joining a practice from an invitation (crypto-protocol §3, §4, §5, §6.4): the link's token
// opens the invitation, the practice's signing key is pinned from its signed configs (with its
// security code shown to compare), then the account is created with an authKey made from the
// password here, and its keys are created and stored sealed.
import { useEffect, useId, useState } from "react";
import { reauthenticate, signup } from "../api/allauth";
import { ApiError, apiRequest } from "../api/client";
import { openInvitation, type OpenedInvitation } from "../api/invitations";
import { putAccountKeys } from "../api/keys";
import { fetchSession, sessionSchema } from "../api/session";
import {
  CryptoError,
  acceptPracticeConfigs,
  fromB64url,
  generateSecretKey,
  groupDigits,
  practiceSecurityCode,
  type ChainHead,
  type PracticeConfig,
} from "../crypto";
import { navigate } from "../app/navigation";
import { formText } from "../app/forms";
import { NewPasswordFields, checkNewPassword, clearPasswordFields } from "../app/NewPassword";
import { accountInfo } from "../app/keys/account";
import { useKeyActions } from "../app/keys/context";
import { createNewAccount } from "../app/keys/create";
import { rememberAccount } from "../app/keys/known";
import { openKeystore } from "../app/keys/open";
import { deriveKeys } from "../app/unlock";
import { errorMessage } from "../app/usePagedList";
import { ROUTES } from "../routes";

function readToken(): string | null {
  // The invitation token travels in the fragment, which browsers never send to the server.
  const match = /(?:^|&)token=([A-Za-z0-9_-]{20,})(?:&|$)/.exec(window.location.hash.slice(1));
  return match?.[1] ?? null;
}

/** A name given before two-step enrolment, saved once the profile may be written. */
export const PENDING_NAME = "quietroom.pending-name";

interface Opened {
  readonly invitation: OpenedInvitation;
  readonly prskPub: Uint8Array;
  readonly head: ChainHead;
  readonly current: PracticeConfig;
  readonly code: string;
}

type Step =
  | { kind: "opening" }
  | { kind: "gone"; message: string }
  | { kind: "form"; opened: Opened; busy: boolean };

const GONE = "This invitation link cannot be used. Ask your practice for a new one.";

const ROLE_WORDS: Record<string, string> = {
  owner: "an owner",
  admin: "an administrator",
  therapist: "a therapist",
  client: "a client",
};

async function openAndPin(token: string): Promise<Opened> {
  const invitation = await openInvitation(token);
  const first = invitation.configs[0];
  const current = invitation.configs[invitation.configs.length - 1];
  if (first === undefined || current === undefined) throw new CryptoError("E_CERT", "no practice config");
  // Trust on first use (§6.4): the signing key of the first config, every later one checked under it.
  const prskPub = fromB64url(first.prsk_pub);
  const head = await acceptPracticeConfigs(undefined, invitation.configs, { practiceId: invitation.practice_id, prskPub });
  return { invitation, prskPub, head, current, code: await practiceSecurityCode(invitation.practice_id, prskPub) };
}

async function saveName(name: string): Promise<void> {
  try {
    await apiRequest("/profile", sessionSchema, { method: "PATCH", body: { display_name: name } });
  } catch (error) {
    // Staff are kept from most of the API until two-step verification is on: /welcome saves it then.
    if (error instanceof ApiError && error.status === 403) {
      window.sessionStorage.setItem(PENDING_NAME, name);
      return;
    }
    throw error;
  }
}

export function JoinPage({ onSessionChange }: { onSessionChange: () => Promise<void> }) {
  const [token] = useState(readToken);
  const [step, setStep] = useState<Step>(token === null ? { kind: "gone", message: GONE } : { kind: "opening" });
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [name, setName] = useState("");
  const nameId = useId();
  const rememberId = useId();
  const actions = useKeyActions();

  useEffect(() => {
    if (token === null) return;
    let live = true;
    openAndPin(token).then(
      (opened) => {
        if (live) setStep({ kind: "form", opened, busy: false });
      },
      (error: unknown) => {
        if (!live) return;
        if (error instanceof ApiError && (error.status === 404 || error.status === 400)) setStep({ kind: "gone", message: GONE });
        else if (error instanceof CryptoError) setStep({ kind: "gone", message: "This practice's keys did not check out, so it is not safe to join. Tell your practice." });
        else setStep({ kind: "gone", message: errorMessage(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [token]);

  const join = async (form: HTMLFormElement, opened: Opened): Promise<void> => {
    const data = new FormData(form);
    const displayName = formText(data, "displayName").trim();
    const remember = data.get("remember") === "on";
    const { invitation } = opened;
    const staff = invitation.role !== "client";
    if (displayName === "") {
      setProblem("Enter your name.");
      return;
    }
    setProblem(null);
    setStep({ kind: "form", opened, busy: true });
    const secretKey = staff ? generateSecretKey() : undefined;
    try {
      const weak = await checkNewPassword(formText(data, "newPassword"), formText(data, "newPasswordAgain"), [invitation.email, displayName]);
      if (weak !== null) {
        setProblem(weak);
        setStep({ kind: "form", opened, busy: false });
        return;
      }
      setStatus("Making your keys… this takes a moment, here on your device.");
      const keys = await deriveKeys(invitation.email, formText(data, "newPassword"), secretKey);
      clearPasswordFields(form);
      const outcome = await signup(invitation.email, keys.authKey);
      if (outcome.kind !== "signed-in") {
        setProblem(outcome.kind === "throttled" ? "Too many attempts. Wait a few minutes and try again." : GONE);
        setStep({ kind: "form", opened, busy: false });
        setStatus("");
        return;
      }
      // Staff enrol two-step verification next, which allauth allows only just after a
      // re-authentication: do it while the authKey is at hand.
      if (staff) await reauthenticate(keys.authKey);
      const session = await fetchSession();
      const info = session === null ? null : accountInfo(session);
      if (info === null || info.practiceId !== invitation.practice_id) throw new ApiError(409, "conflict", "The new account is not in this practice.");
      const created = await createNewAccount({
        userId: info.userId,
        practiceId: info.practiceId,
        kek: keys.kek,
        salt: keys.salt,
        kdf: keys.kdf,
        ...(secretKey === undefined ? {} : { secretKey }),
        prskPub: opened.prskPub,
        config: opened.current,
        configHead: opened.head,
        remember,
      });
      await putAccountKeys(created.keys);
      const keystore = await openKeystore();
      await keystore.putDevice(created.record);
      rememberAccount(invitation.email, info.userId);
      await saveName(displayName);
      actions.unlocked({
        userId: info.userId,
        practiceId: info.practiceId,
        role: info.role,
        deviceId: created.deviceId,
        account: created.account,
        keystore,
        prskPub: opened.prskPub,
        prsk: null,
      });
      await onSessionChange();
      navigate(ROUTES.welcome);
    } catch (error) {
      setStatus("");
      setProblem(errorMessage(error));
      setStep({ kind: "form", opened, busy: false });
    } finally {
      secretKey?.fill(0);
    }
  };

  if (step.kind === "opening") {
    return (
      <section className="card narrow">
        <h1>Join your practice</h1>
        <p className="status">Opening your invitation…</p>
      </section>
    );
  }
  if (step.kind === "gone") {
    return (
      <section className="card narrow">
        <h1>Join your practice</h1>
        <p role="alert">{step.message}</p>
      </section>
    );
  }
  const { invitation, code } = step.opened;
  return (
    <section className="card narrow">
      <h1>Join {invitation.practice_name}</h1>
      <p>
        {invitation.practice_name} invited you to join as {ROLE_WORDS[invitation.role] ?? invitation.role}. Your password
        is turned into keys here in your browser; the server never sees it.
      </p>
      <div className="inset">
        <h2>The practice&apos;s security code</h2>
        <p>
          If your practice published its security code (on its website or your paperwork), check that it is the same as
          this one. If it is not, stop and call them.
        </p>
        <p className="security-code-display" aria-label="Practice security code">
          {groupDigits(code).join(" ")}
        </p>
      </div>
      <form
        noValidate
        aria-label="Create your account"
        aria-busy={step.busy}
        onSubmit={(event) => {
          event.preventDefault();
          if (!step.busy) void join(event.currentTarget, step.opened);
        }}
      >
        <p>
          Email address: <strong>{invitation.email}</strong>
        </p>
        <label htmlFor={nameId}>Your name</label>
        <input
          id={nameId}
          name="displayName"
          type="text"
          autoComplete="name"
          maxLength={120}
          required
          value={name}
          onChange={(event) => {
            setName(event.target.value);
          }}
        />
        <NewPasswordFields userInputs={[invitation.email, name]} />
        <div className="checkbox">
          <input id={rememberId} name="remember" type="checkbox" />
          <label htmlFor={rememberId}>Remember this device (only on a computer or phone that is yours alone)</label>
        </div>
        <button type="submit" className="button" disabled={step.busy}>
          Create my account
        </button>
      </form>
      <p aria-live="polite" className="status">
        {status}
      </p>
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}
