// Practice set-up (crypto-protocol §6.1, docs/api/keys.md "Practice set-up"): the one-time link
// from the server's first start, a form for the practice and its owner, then the key ceremony in
// this browser: the practice's recovery and signing keys, the printed recovery sheet with a
// type-back check, the owner's account keys and certificate. Nothing secret leaves the browser:
// the server gets public keys, signatures and what the browser sealed.
import { useEffect, useId, useState, type SyntheticEvent } from "react";
import { login, reauthenticate } from "../api/allauth";
import { ApiError } from "../api/client";
import { checkSetupToken, createPractice } from "../api/setup";
import {
  CryptoError,
  GENESIS_PREV_HASH,
  acceptPracticeConfigs,
  b64url,
  formatSeed,
  generateSecretKey,
  issueMemberCert,
  keyId,
  newUuidV7,
  practiceCeremony,
  practiceSecurityCode,
  sealPrskWrap,
  seedToPkcs8,
  signPracticeConfig,
  type Ceremony,
} from "../crypto";
import { navigate } from "../app/navigation";
import { formText } from "../app/forms";
import { NewPasswordFields, checkNewPassword, clearPasswordFields } from "../app/NewPassword";
import { RecoverySheet, type SheetContent } from "../app/RecoverySheet";
import { useKeyActions } from "../app/keys/context";
import { createNewAccount } from "../app/keys/create";
import { openKeystore } from "../app/keys/open";
import { rememberAccount } from "../app/keys/known";
import { deriveKeys, type DerivedKeys } from "../app/unlock";
import { errorMessage } from "../app/usePagedList";
import { ROUTES } from "../routes";

function readToken(): string | null {
  // The set-up token travels in the fragment, which browsers never send to the server.
  const match = /(?:^|&)token=([A-Za-z0-9_-]{20,})(?:&|$)/.exec(window.location.hash.slice(1));
  return match?.[1] ?? null;
}

interface Owner {
  readonly practiceName: string;
  readonly displayName: string;
  readonly email: string;
  readonly remember: boolean;
}

interface Prepared {
  readonly owner: Owner;
  readonly practiceId: string;
  readonly userId: string;
  readonly keys: DerivedKeys;
  readonly secretKey: Uint8Array;
  readonly ceremony: Ceremony;
  readonly sheet: SheetContent;
  /** Which group the owner types back: seed "prk" or "prsk", 1-based group number. */
  readonly check: { readonly seed: "prk" | "prsk"; readonly group: number };
}

type Step =
  | { kind: "checking" }
  | { kind: "no-link" }
  | { kind: "form"; busy: boolean }
  | { kind: "sheet"; prepared: Prepared; busy: boolean }
  | { kind: "failed"; message: string };

const LINK_GONE =
  "This set-up link cannot be used: it was used already, or it expired. Run quietroom setup-link on the server to print a new one.";

function randomIndex(n: number): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return (buf[0] ?? 0) % n;
}

function seedGroups(seed: Uint8Array): string[] {
  return formatSeed(seed).split(" ");
}

async function prepare(owner: Owner, password: string): Promise<Prepared> {
  const secretKey = generateSecretKey();
  const keys = await deriveKeys(owner.email, password, secretKey);
  const ceremony = await practiceCeremony();
  const practiceId = newUuidV7();
  const userId = newUuidV7();
  const seed = randomIndex(2) === 0 ? "prk" : "prsk";
  return {
    owner,
    practiceId,
    userId,
    keys,
    secretKey,
    ceremony,
    sheet: {
      practiceName: owner.practiceName,
      practiceId,
      prkSeed: ceremony.prkSeed,
      prskSeed: ceremony.prskSeed,
      securityCode: await practiceSecurityCode(practiceId, ceremony.prsk.pub),
    },
    check: { seed, group: randomIndex(seedGroups(ceremony.prkSeed).length) + 1 },
  };
}

/** Everything the server stores for the new practice and its owner; the seeds are wiped here. */
async function createEverything(p: Prepared) {
  const { ceremony, practiceId, userId } = p;
  const prsk = ceremony.prsk;
  const now = Date.now();
  const config = await signPracticeConfig(prsk.pair.privateKey, {
    practice_id: practiceId,
    seq: 1,
    prev_hash: GENESIS_PREV_HASH,
    prsk_pub: b64url(prsk.pub),
    prk_pub: b64url(ceremony.prk.pub),
    name: p.owner.practiceName,
    policy: {},
  });
  const configHead = await acceptPracticeConfigs(undefined, [config], { practiceId, prskPub: prsk.pub });
  const created = await createNewAccount({
    userId,
    practiceId,
    kek: p.keys.kek,
    salt: p.keys.salt,
    kdf: p.keys.kdf,
    secretKey: p.secretKey,
    prskPub: prsk.pub,
    config,
    configHead,
    remember: p.owner.remember,
  });
  const cert = await issueMemberCert(prsk.pair.privateKey, {
    practice_id: practiceId,
    user_id: userId,
    role: "owner",
    aik_pub: b64url(created.account.aikPub),
    valid_from: now,
    reason: "enrolled",
    issuer_kind: "prsk",
    issuer_key_id: b64url(await keyId("ed25519", prsk.pub)),
  });
  const prskPkcs8 = seedToPkcs8(ceremony.prskSeed, "ed25519");
  let prskWrap: Uint8Array;
  try {
    prskWrap = await sealPrskWrap(created.account.aekPub, practiceId, userId, prsk.pub, prskPkcs8);
  } finally {
    prskPkcs8.fill(0);
  }
  return { config, created, cert, prskWrap };
}

export function SetupPage({ onSessionChange }: { onSessionChange: () => Promise<void> }) {
  const [token] = useState(readToken);
  const [step, setStep] = useState<Step>(token === null ? { kind: "no-link" } : { kind: "checking" });
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const practiceNameId = useId();
  const nameId = useId();
  const emailId = useId();
  const rememberId = useId();
  const typeBackId = useId();
  const actions = useKeyActions();

  useEffect(() => {
    const value = token;
    if (value === null) return;
    let live = true;
    checkSetupToken(value).then(
      (ok) => {
        if (live) setStep(ok ? { kind: "form", busy: false } : { kind: "failed", message: LINK_GONE });
      },
      (error: unknown) => {
        if (live) setStep({ kind: "failed", message: errorMessage(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [token]);

  const onSubmitForm = async (form: HTMLFormElement): Promise<void> => {
    const data = new FormData(form);
    const owner: Owner = {
      practiceName: formText(data, "practiceName").trim(),
      displayName: formText(data, "displayName").trim(),
      email: formText(data, "email").trim(),
      remember: data.get("remember") === "on",
    };
    if (owner.practiceName === "" || owner.displayName === "" || !/^[^@\s]+@[^@\s]+$/.test(owner.email)) {
      setProblem("Fill in the practice's name, your name and your email address.");
      return;
    }
    const password = formText(data, "newPassword");
    setProblem(null);
    setStep({ kind: "form", busy: true });
    try {
      const weak = await checkNewPassword(password, formText(data, "newPasswordAgain"), [owner.email, owner.displayName, owner.practiceName]);
      if (weak !== null) {
        setProblem(weak);
        setStep({ kind: "form", busy: false });
        return;
      }
      setStatus("Making your practice's keys… this takes a moment, here on your device.");
      const prepared = await prepare(owner, password);
      clearPasswordFields(form);
      setStatus("");
      setStep({ kind: "sheet", prepared, busy: false });
    } catch (error) {
      setStatus("");
      setProblem(error instanceof CryptoError && error.code === "E_KDF_PARAMS" ? "This server asked for unsafe password settings. Check its configuration." : errorMessage(error));
      setStep({ kind: "form", busy: false });
    }
  };

  const finish = async (p: Prepared): Promise<void> => {
    const value = token;
    if (value === null) return;
    setProblem(null);
    setStep({ kind: "sheet", prepared: p, busy: true });
    setStatus("Creating your practice…");
    try {
      const { config, created, cert, prskWrap } = await createEverything(p);
      await createPractice({
        token: value,
        practice: { id: p.practiceId, name: p.owner.practiceName },
        owner: { id: p.userId, email: p.owner.email, display_name: p.owner.displayName, auth_key: p.keys.authKey },
        config,
        keys: created.keys,
        cert,
        prsk_wrap: b64url(prskWrap),
      });
      // The practice exists and the sheet was checked: the seeds leave this browser's memory.
      p.ceremony.prkSeed.fill(0);
      p.ceremony.prskSeed.fill(0);
      const keystore = await openKeystore();
      await keystore.putDevice(created.record);
      rememberAccount(p.owner.email, p.userId);
      p.secretKey.fill(0);
      setStatus("Signing you in…");
      const outcome = await login(p.owner.email, p.keys.authKey);
      if (outcome.kind !== "signed-in") throw new ApiError(401, "not_authenticated", "Sign in with your new password.");
      // allauth lets a second factor be added only just after a re-authentication: do it now,
      // while the authKey is at hand, so the two-step enrolment that follows needs no password.
      await reauthenticate(p.keys.authKey);
      actions.unlocked({
        userId: p.userId,
        practiceId: p.practiceId,
        role: "owner",
        deviceId: created.deviceId,
        account: created.account,
        keystore,
        prskPub: p.ceremony.prsk.pub,
        prsk: p.ceremony.prsk,
      });
      await onSessionChange();
      navigate(ROUTES.welcome);
    } catch (error) {
      setStatus("");
      if (error instanceof ApiError && error.status === 404) {
        setStep({ kind: "failed", message: LINK_GONE });
        return;
      }
      setProblem(errorMessage(error));
      setStep({ kind: "sheet", prepared: p, busy: false });
    }
  };

  const onTypeBack = (event: SyntheticEvent<HTMLFormElement>, p: Prepared): void => {
    event.preventDefault();
    const typed = formText(new FormData(event.currentTarget), "group").replace(/\s/g, "").toUpperCase();
    const seed = p.check.seed === "prk" ? p.ceremony.prkSeed : p.ceremony.prskSeed;
    const expected = seedGroups(seed)[p.check.group - 1] ?? "";
    if (typed !== expected) {
      setProblem("That group does not match the sheet. Check the printed copy and try again.");
      return;
    }
    void finish(p);
  };

  if (step.kind === "no-link") {
    return (
      <section className="card narrow">
        <h1>Set up your practice</h1>
        <p role="alert">
          This page needs the one-time link printed when Quietroom first started. Run <code>quietroom setup-link</code> on
          the server to print a new one.
        </p>
      </section>
    );
  }
  if (step.kind === "checking") {
    return (
      <section className="card narrow">
        <h1>Set up your practice</h1>
        <p className="status">Checking your set-up link…</p>
      </section>
    );
  }
  if (step.kind === "failed") {
    return (
      <section className="card narrow">
        <h1>Set up your practice</h1>
        <p role="alert">{step.message}</p>
      </section>
    );
  }
  if (step.kind === "sheet") {
    const p = step.prepared;
    return (
      <section className="page">
        <h1>Your practice&apos;s recovery sheet</h1>
        <p className="lead">
          Print this sheet now, and a second copy. Keep them offline in two safe places: they are the only way to recover
          the practice&apos;s records if everyone loses their keys.
        </p>
        <RecoverySheet sheet={p.sheet} />
        <div className="actions no-print">
          <button
            type="button"
            className="button button-quiet"
            onClick={() => {
              window.print();
            }}
          >
            Print the sheet
          </button>
        </div>
        <form className="inset no-print" aria-label="Check the sheet" noValidate onSubmit={(event) => { onTypeBack(event, p); }}>
          <p>
            To check your copy, type group {p.check.group} of the {p.check.seed === "prk" ? "Practice Recovery Key (PRK)" : "Practice Signing Key (PRSK)"} as
            it is on the sheet (4 letters or digits).
          </p>
          <label htmlFor={typeBackId}>
            Group {p.check.group} of the {p.check.seed === "prk" ? "Practice Recovery Key" : "Practice Signing Key"}
          </label>
          <input id={typeBackId} name="group" type="text" autoComplete="off" spellCheck={false} maxLength={8} required />
          <button type="submit" className="button" disabled={step.busy}>
            I have printed the sheet: create the practice
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
  return (
    <section className="card narrow">
      <h1>Set up your practice</h1>
      <p>
        You are creating the practice and its first account, the owner&apos;s. Your password and the practice&apos;s keys are
        made here in your browser; the server never sees them.
      </p>
      <form
        noValidate
        aria-label="Set up your practice"
        aria-busy={step.busy}
        onSubmit={(event) => {
          event.preventDefault();
          if (!step.busy) void onSubmitForm(event.currentTarget);
        }}
      >
        <label htmlFor={practiceNameId}>Practice name</label>
        <input id={practiceNameId} name="practiceName" type="text" autoComplete="organization" maxLength={120} required />
        <label htmlFor={nameId}>Your name</label>
        <input
          id={nameId}
          name="displayName"
          type="text"
          autoComplete="name"
          maxLength={120}
          required
          value={displayName}
          onChange={(event) => {
            setDisplayName(event.target.value);
          }}
        />
        <label htmlFor={emailId}>Email address</label>
        <input
          id={emailId}
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => {
            setEmail(event.target.value);
          }}
        />
        <NewPasswordFields userInputs={[email, displayName]} />
        <div className="checkbox">
          <input id={rememberId} name="remember" type="checkbox" />
          <label htmlFor={rememberId}>Remember this device (only on a computer that is yours alone)</label>
        </div>
        <button type="submit" className="button" disabled={step.busy}>
          Continue
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
