import { useEffect, useId, useRef, useState, type SyntheticEvent } from "react";
import { authSession } from "../api/allauth";
import { ApiError } from "../api/client";
import { createRecoveryRequest, fetchRecoveryRequest } from "../api/recovery";
import { fetchSession } from "../api/session";
import { CryptoError, b64url, formatSecretKey, generateKeyPair, groupDigits, parseSecretKey, recoveryTransferCode, type KeyPairWithPub } from "../crypto";
import { accountInfo, type AccountInfo } from "../app/keys/account";
import { useKeyActions, useKeySession } from "../app/keys/context";
import { openKeystore, unlockAccount, type PasswordProof } from "../app/keys/open";
import { formText } from "../app/forms";
import { Link } from "../app/Link";
import { completeAssisted, rememberedDevice, rewrapFromDevice } from "../app/verification/recover";
import { ROUTES } from "../routes";

const UNREACHABLE = "The server could not be reached just now. Check your connection and try again.";
const NOT_RIGHT = "That password or Secret Key is not right.";
const BAD_SECRET_KEY = "That does not look like a Secret Key. It starts with QR1- and has 26 letters and digits after it.";
const POLL_MS = 3000;

type Stage =
  | { kind: "loading" }
  | { kind: "signed-out" }
  | { kind: "not-locked" }
  | { kind: "device"; info: AccountInfo; email: string; hasSecretKey: boolean }
  | { kind: "assisted-start"; info: AccountInfo; email: string }
  | { kind: "waiting"; info: AccountInfo; email: string; requestId: string; code: string }
  | { kind: "finish"; info: AccountInfo; email: string; requestId: string; transfer: { ct: string; aek_pub: string } }
  | { kind: "working"; message: string }
  | { kind: "kit"; secretKey: string }
  | { kind: "done" };

function problemFor(error: unknown): string {
  if (error instanceof CryptoError && error.code === "E_UNLOCK") return NOT_RIGHT;
  if (error instanceof CryptoError) return "Your keys could not be recovered on this device. Tell your practice.";
  if (error instanceof ApiError && error.status === 400) return NOT_RIGHT;
  return UNREACHABLE;
}

/** `onRecovered` asks the shell to read the session again: its "keys locked" is then over. */
export function RecoverPage({ onRecovered }: { onRecovered?: () => Promise<void> }) {
  const keySession = useKeySession();
  const actions = useKeyActions();
  const pwId = useId();
  const skId = useId();
  const loginSkId = useId();
  const rememberId = useId();
  const [stage, setStage] = useState<Stage>({ kind: "loading" });
  const [problem, setProblem] = useState<string | null>(null);
  // The one-time key T (§10.2) lives in this tab's memory only, never stored.
  const t = useRef<KeyPairWithPub | null>(null);

  useEffect(() => {
    const run = { live: true };
    void (async () => {
      try {
        const s = await fetchSession();
        const info = s === null ? null : accountInfo(s);
        if (info === null) {
          if (run.live) setStage({ kind: "signed-out" });
          return;
        }
        if (info.keys !== null && info.keys !== "locked") {
          if (run.live) setStage({ kind: "not-locked" });
          return;
        }
        const me = await authSession();
        const email = me.kind === "signed-in" ? (me.user.email ?? "") : "";
        const remembered = await rememberedDevice(await openKeystore(), info.userId, info.practiceId).catch(() => null);
        if (!run.live) return;
        if (remembered !== null) setStage({ kind: "device", info, email, hasSecretKey: remembered.record.secretKey !== undefined });
        else setStage({ kind: "assisted-start", info, email });
      } catch {
        if (run.live) setProblem(UNREACHABLE);
      }
    })();
    return () => {
      run.live = false;
    };
  }, []);

  // §10.2: wait for the practice to send the key.
  const waitingId = stage.kind === "waiting" ? stage.requestId : null;
  useEffect(() => {
    if (waitingId === null || stage.kind !== "waiting") return;
    const { info, email } = stage;
    let live = true;
    const timer = setInterval(() => {
      fetchRecoveryRequest(waitingId).then(
        (status) => {
          if (!live) return;
          if (status.status === "transferred" && status.transfer !== null) {
            setStage({ kind: "finish", info, email, requestId: waitingId, transfer: status.transfer });
          } else if (status.status === "cancelled") {
            t.current = null;
            setStage({ kind: "assisted-start", info, email });
            setProblem("This request was cancelled. You can ask again.");
          }
        },
        () => undefined, // keep waiting through a network blip
      );
    }, POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [waitingId]); // eslint-disable-line react-hooks/exhaustive-deps

  const unlockWith = async (info: AccountInfo, proof: PasswordProof, secretKey: Uint8Array | undefined): Promise<void> => {
    const outcome = await unlockAccount({ info: { ...info, keys: "ready" }, password: proof, ...(secretKey === undefined ? {} : { secretKey }) });
    if (outcome.kind === "unlocked") actions.unlocked(outcome.session);
    await onRecovered?.().catch(() => undefined);
  };

  const onDevice = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (stage.kind !== "device") return;
    const data = new FormData(event.currentTarget);
    const current = stage;
    let typedSk: Uint8Array | undefined;
    if (current.info.staff && !current.hasSecretKey) {
      try {
        typedSk = parseSecretKey(formText(data, "secretKey"));
      } catch {
        setProblem(BAD_SECRET_KEY);
        return;
      }
    }
    const password = formText(data, "password");
    setProblem(null);
    setStage({ kind: "working", message: "Opening your keys… this takes a moment, here on your device." });
    void (async () => {
      try {
        const keystore = await openKeystore();
        const remembered = await rememberedDevice(keystore, current.info.userId, current.info.practiceId);
        if (remembered === null) throw new CryptoError("E_WRAP", "this device is no longer remembered");
        const secretKey = typedSk ?? remembered.record.secretKey;
        const proof = await rewrapFromDevice(remembered, password, secretKey);
        await unlockWith(current.info, proof, secretKey);
        setStage({ kind: "done" });
      } catch (error) {
        setStage(current);
        setProblem(problemFor(error));
      } finally {
        typedSk?.fill(0);
      }
    })();
  };

  const startAssisted = (): void => {
    if (stage.kind !== "assisted-start") return;
    const { info, email } = stage;
    setProblem(null);
    setStage({ kind: "working", message: "Preparing your request…" });
    void (async () => {
      try {
        const pair = await generateKeyPair("x25519");
        t.current = pair;
        const requestId = await createRecoveryRequest(b64url(pair.pub));
        const code = await recoveryTransferCode(info.userId, pair.pub);
        setStage({ kind: "waiting", info, email, requestId, code });
      } catch (error) {
        t.current = null;
        setStage({ kind: "assisted-start", info, email });
        setProblem(problemFor(error));
      }
    })();
  };

  const onFinish = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (stage.kind !== "finish" || t.current === null) return;
    const data = new FormData(event.currentTarget);
    const current = stage;
    const pair = t.current;
    let loginSk: Uint8Array | undefined;
    const skText = formText(data, "loginSecretKey").trim();
    if (current.info.staff && skText !== "") {
      try {
        loginSk = parseSecretKey(skText);
      } catch {
        setProblem(BAD_SECRET_KEY);
        return;
      }
    }
    const password = formText(data, "password");
    const remember = data.get("remember") === "on";
    setProblem(null);
    setStage({ kind: "working", message: "Setting up your keys on this device… this takes a moment." });
    void (async () => {
      try {
        const result = await completeAssisted({
          keystore: await openKeystore(),
          userId: current.info.userId,
          practiceId: current.info.practiceId,
          staff: current.info.staff,
          requestId: current.requestId,
          t: pair,
          transfer: current.transfer,
          password,
          loginSecretKey: loginSk,
          remember,
        });
        t.current = null; // §10.2: T is discarded
        await unlockWith(current.info, result.proof, result.secretKey ?? undefined);
        if (result.secretKey !== null) {
          setStage({ kind: "kit", secretKey: formatSecretKey(result.secretKey) });
          result.secretKey.fill(0);
        } else setStage({ kind: "done" });
      } catch (error) {
        setStage(current);
        setProblem(problemFor(error));
      } finally {
        loginSk?.fill(0);
      }
    })();
  };

  const alert =
    problem === null ? null : (
      <p role="alert" className="problem">
        {problem}
      </p>
    );

  if (keySession !== null && stage.kind !== "kit" && stage.kind !== "done") {
    return (
      <section className="card narrow">
        <h1>Recover your account</h1>
        <p>Your keys are open on this device: there is nothing to recover.</p>
      </section>
    );
  }

  let body;
  switch (stage.kind) {
    case "loading":
      body = <p className="status">Checking this device…</p>;
      break;
    case "signed-out":
      body = (
        <p>
          First <Link to={ROUTES.signIn}>sign in</Link> with your new password. If you forgot your password,{" "}
          <Link to={ROUTES.forgotPassword}>set a new one</Link> first.
        </p>
      );
      break;
    case "not-locked":
      body = (
        <p>
          Your keys are not locked. <Link to={ROUTES.signIn}>Sign in</Link> to open them.
        </p>
      );
      break;
    case "device":
      body = (
        <>
          <p>
            This device is remembered for your account, so it can open your keys again. Enter the new password you just
            chose: from now on it opens your keys too.
          </p>
          <form onSubmit={onDevice} noValidate aria-label="Open my keys on this device">
            <label htmlFor={pwId}>Your new password</label>
            <input id={pwId} name="password" type="password" autoComplete="current-password" required />
            {stage.info.staff && !stage.hasSecretKey && (
              <>
                <label htmlFor={skId}>Secret Key</label>
                <input id={skId} name="secretKey" type="password" autoComplete="off" spellCheck={false} placeholder="QR1-…" />
              </>
            )}
            <button type="submit" className="button">
              Open my keys
            </button>
          </form>
        </>
      );
      break;
    case "assisted-start":
      body = (
        <>
          <p>
            This device cannot open your keys by itself. Your practice can help: you ask here, then someone from your
            practice calls you by phone or video, checks it is really you and compares a code with you.
          </p>
          <p>Your records stay readable: the practice gives your keys back to this device only.</p>
          <button type="button" className="button" onClick={startAssisted}>
            Ask my practice for help
          </button>
        </>
      );
      break;
    case "waiting":
      body = (
        <>
          <p>Your request is sent. Call your practice, or wait for their call, and read them this code:</p>
          <ol className="code-list" aria-label="Your recovery code">
            {groupDigits(stage.code).map((g, i) => (
              <li key={i}>
                <code>{g}</code>
              </li>
            ))}
          </ol>
          <p>
            They must see exactly the same 30 digits. Keep this page open: it continues by itself when they are done.
          </p>
          <p className="status" aria-live="polite">
            Waiting for your practice…
          </p>
        </>
      );
      break;
    case "finish":
      body = (
        <>
          <p role="status">Your practice sent your key. Enter your password to finish.</p>
          <form onSubmit={onFinish} noValidate aria-label="Finish recovery">
            <label htmlFor={pwId}>Your new password</label>
            <input id={pwId} name="password" type="password" autoComplete="current-password" required />
            {stage.info.staff && (
              <>
                <label htmlFor={loginSkId}>The Secret Key you signed in with, if you still have it</label>
                <input id={loginSkId} name="loginSecretKey" type="password" autoComplete="off" spellCheck={false} placeholder="Leave empty if you lost it" />
                <p className="hint">You get a new Secret Key next: write it down on your Emergency Kit.</p>
              </>
            )}
            <div className="check">
              <input id={rememberId} name="remember" type="checkbox" />
              <label htmlFor={rememberId}>Remember this device (only on a device that is yours alone)</label>
            </div>
            <button type="submit" className="button">
              Finish recovery
            </button>
          </form>
        </>
      );
      break;
    case "working":
      body = (
        <p className="status" aria-live="polite">
          {stage.message}
        </p>
      );
      break;
    case "kit":
      body = (
        <>
          <p role="status">Your account is recovered and your keys are open.</p>
          <h2>Your new Secret Key</h2>
          <p>
            Write it on your Emergency Kit now and keep it somewhere safe: it is shown only once. Your old Secret Key no
            longer works. From now on you sign in with your password and this Secret Key.
          </p>
          <p className="totp-secret">
            <code>{stage.secretKey}</code>
          </p>
          <p>People you work with will see that your security code changed: that is expected.</p>
        </>
      );
      break;
    case "done":
      body = (
        <>
          <p role="status">Your account is recovered and your keys are open.</p>
          <p>People you work with may see that your security code changed: that is expected after a recovery.</p>
        </>
      );
      break;
  }

  return (
    <section className="card narrow">
      <h1>Recover your account</h1>
      {body}
      {alert}
    </section>
  );
}
