// After set-up or joining: staff turn on two-step verification (mandatory) and save their
// Emergency Kit; everyone learns whether the practice has confirmed their keys yet.
import { useEffect, useState } from "react";
import { authSession } from "../api/allauth";
import { apiRequest } from "../api/client";
import { sessionSchema } from "../api/session";
import { EmergencyKit } from "../app/EmergencyKit";
import { Link } from "../app/Link";
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
              me={storedKey === undefined ? { email, staff: true } : { email, staff: true, secretKey: storedKey }}
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
      {!needsTwoStep && info.staff && !kitDone && (
        <Kit
          info={info}
          onSaved={() => {
            setKitDone(true);
          }}
        />
      )}
      {!needsTwoStep && (!info.staff || kitDone) && (
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
