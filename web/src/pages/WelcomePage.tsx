// After set-up or joining: staff turn on two-step verification (mandatory), owners and admins
// add a passkey (mandatory, AU-01: the practice's keys need a phishing-resistant factor), and
// staff save their Emergency Kit; everyone learns whether the practice has confirmed their keys.
import { useCallback, useEffect, useState } from "react";
import { authSession } from "../api/allauth";
import { apiRequest } from "../api/client";
import { listPasskeys } from "../api/passkeys";
import { sessionSchema } from "../api/session";
import { EmergencyKit } from "../app/EmergencyKit";
import { Link } from "../app/Link";
import { Passkeys } from "../app/Passkeys";
import { TotpSetup } from "../app/TwoStepSetup";
import type { AccountInfo } from "../app/keys/account";
import { useKeySession } from "../app/keys/context";
import { openKeystore } from "../app/keys/open";
import { navigate } from "../app/navigation";
import { ROUTES } from "../routes";
import { PENDING_NAME } from "./JoinPage";

const KIT_SAVED = "quietroom.kit-saved.";

function kitSaved(userId: string): boolean {
  try {
    return window.localStorage.getItem(KIT_SAVED + userId) === "1";
  } catch {
    return false;
  }
}

function markKitSaved(userId: string): void {
  try {
    window.localStorage.setItem(KIT_SAVED + userId, "1");
  } catch {
    // storage off: the kit is offered again next time
  }
}

async function savePendingName(): Promise<void> {
  const name = window.sessionStorage.getItem(PENDING_NAME);
  if (name === null) return;
  await apiRequest("/profile", sessionSchema, { method: "PATCH", body: { display_name: name } });
  window.sessionStorage.removeItem(PENDING_NAME);
}

function Waiting({ info }: { info: AccountInfo }) {
  if (info.certified !== false) return null;
  return (
    <div className="notice" role="status">
      <h2>Waiting for your practice to confirm your keys</h2>
      <p>
        Your account has its own keys, made on this device. Before others can send you anything sealed, someone at{" "}
        {info.practiceName} {info.staff ? "(an owner or administrator)" : "(your therapist or the practice)"} confirms that
        these keys are really yours. You do not need to do anything; this page will say so once it is done.
      </p>
    </div>
  );
}

/** Whether the signed-in person has a passkey: null while asking, or if the answer failed. */
function usePasskeyCount(wanted: boolean): { count: number | null; failed: boolean; refresh: () => void } {
  const [count, setCount] = useState<number | null>(null);
  const [failed, setFailed] = useState(false);
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    listPasskeys().then(
      (list) => {
        if (!live) return;
        setFailed(false);
        setCount(list.length);
      },
      () => {
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [wanted, round]);
  const refresh = useCallback(() => {
    setRound((r) => r + 1);
  }, []);
  return { count, failed, refresh };
}

function Kit({ info, onSaved }: { info: AccountInfo; onSaved: () => void }) {
  const keys = useKeySession();
  const [email, setEmail] = useState<string | null>(null);
  const [secretKey, setSecretKey] = useState<Uint8Array | null | "none">(null);
  const [confirmed, setConfirmed] = useState(false);

  useEffect(() => {
    let live = true;
    Promise.all([authSession(), openKeystore().then((ks) => ks.getDevice(info.userId))]).then(
      ([auth, record]) => {
        if (!live) return;
        setEmail(auth.kind === "signed-in" ? (auth.user.email ?? "") : "");
        setSecretKey(record?.secretKey ?? "none");
      },
      () => {
        if (live) setSecretKey("none");
      },
    );
    return () => {
      live = false;
    };
  }, [info.userId, keys]);

  if (secretKey === null || email === null) return <p className="status">Loading your Emergency Kit…</p>;
  if (secretKey === "none") {
    return (
      <p>
        This device does not hold your Secret Key, so your Emergency Kit cannot be shown here. It is on the kit you saved
        when you joined.
      </p>
    );
  }
  return (
    <section aria-labelledby="kit-step-heading">
      <h2 id="kit-step-heading">Save your Emergency Kit</h2>
      <p>
        Your Secret Key is shown only here. You need it, with your password, to sign in on any other device. If you lose
        both this device and the kit, only your practice can restore your account.
      </p>
      <EmergencyKit email={email} secretKey={secretKey} />
      <div className="actions no-print">
        <button
          type="button"
          className="button button-quiet"
          onClick={() => {
            window.print();
          }}
        >
          Print the Emergency Kit
        </button>
      </div>
      <div className="checkbox no-print">
        <input
          id="kit-saved"
          type="checkbox"
          checked={confirmed}
          onChange={(event) => {
            setConfirmed(event.target.checked);
          }}
        />
        <label htmlFor="kit-saved">I have saved my Emergency Kit somewhere safe</label>
      </div>
      <div className="actions no-print">
        <button
          type="button"
          className="button"
          disabled={!confirmed}
          onClick={() => {
            markKitSaved(info.userId);
            onSaved();
          }}
        >
          Continue
        </button>
      </div>
    </section>
  );
}

export function WelcomePage({ info, onSessionChange }: { info: AccountInfo | null; onSessionChange: () => Promise<void> }) {
  const [email, setEmail] = useState("");
  const [storedKey, setStoredKey] = useState<Uint8Array | undefined>(undefined);
  const userId = info?.userId;
  const [kitDone, setKitDone] = useState(() => (info === null ? false : kitSaved(info.userId)));
  const [problem, setProblem] = useState<string | null>(null);
  const passkeys = usePasskeyCount(
    info !== null && (info.role === "owner" || info.role === "admin") && info.mfaEnabled !== false,
  );

  useEffect(() => {
    let live = true;
    Promise.all([
      authSession(),
      userId === undefined ? undefined : openKeystore().then((ks) => ks.getDevice(userId)),
    ]).then(
      ([auth, record]) => {
        if (!live) return;
        if (auth.kind === "signed-in") setEmail(auth.user.email ?? "");
        setStoredKey(record?.secretKey);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [userId]);

  if (info === null) {
    return (
      <section className="card narrow">
        <h1>Welcome</h1>
        <p>
          <Link to={ROUTES.signIn}>Sign in</Link> to continue.
        </p>
      </section>
    );
  }

  const needsTwoStep = info.staff && info.mfaEnabled === false;
  const manages = info.role === "owner" || info.role === "admin";
  // Until the list answers, the passkey step stands: nobody managing keys skips it by accident.
  const passkeyStep = manages && !needsTwoStep && (passkeys.count === null || passkeys.count === 0);
  const me = storedKey === undefined ? { email, staff: true } : { email, staff: true, secretKey: storedKey };
  return (
    <section className="page">
      <h1>Welcome to {info.practiceName}</h1>
      {needsTwoStep && (
        <section aria-labelledby="two-step-heading">
          <h2 id="two-step-heading">Turn on two-step verification</h2>
          <p>
            Practice staff sign in with a password and a code from an app on their phone, so a stolen password alone is not
            enough. Set it up now; the rest of Quietroom opens once it is on.
          </p>
          {email !== "" && (
            <TotpSetup
              me={me}
              confirmFirst={false}
              onDone={() => {
                void savePendingName()
                  .catch(() => {
                    setProblem("Your name could not be saved yet. You can set it later.");
                  })
                  .finally(() => {
                    void onSessionChange();
                  });
              }}
            />
          )}
        </section>
      )}
      {passkeyStep && (
        <section aria-labelledby="passkey-step-heading">
          <h2 id="passkey-step-heading">Add a passkey</h2>
          <p>
            A passkey on this computer or your phone protects the practice&apos;s keys against phishing: it works only on
            this website, so a fake page cannot trick it out of you. As an {info.role === "owner" ? "owner" : "administrator"}{" "}
            you need one before you can invite people, confirm their keys or help with account recovery.
          </p>
          {passkeys.count === null && !passkeys.failed && <p className="status">Checking your passkeys…</p>}
          {passkeys.failed && (
            <p role="alert" className="problem">
              Your passkeys could not be checked just now.{" "}
              <button type="button" className="button button-small button-quiet" onClick={passkeys.refresh}>
                Try again
              </button>
            </p>
          )}
          {passkeys.count === 0 && email !== "" && <Passkeys me={me} onChange={passkeys.refresh} />}
        </section>
      )}
      {!needsTwoStep && !passkeyStep && info.staff && !kitDone && (
        <Kit
          info={info}
          onSaved={() => {
            setKitDone(true);
          }}
        />
      )}
      {!needsTwoStep && !passkeyStep && (!info.staff || kitDone) && (
        <>
          <Waiting info={info} />
          {info.certified !== false && <p>Your account is ready.</p>}
          <div className="actions">
            <button
              type="button"
              className="button"
              onClick={() => {
                navigate(ROUTES.home);
              }}
            >
              Go to Quietroom
            </button>
          </div>
        </>
      )}
      {problem !== null && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
    </section>
  );
}
