// A new password, typed twice, with a strength meter. The form that holds it reads the values
// itself (FormData) and checks them with `checkNewPassword` before any key is derived.
import { useEffect, useId, useState } from "react";
import { MIN_SCORE, checkStrength, strengthWords, type Strength } from "./strength";

export function NewPasswordFields({
  label = "Password",
  userInputs,
}: {
  label?: string;
  userInputs: readonly string[];
}) {
  const id = useId();
  const againId = useId();
  const meterId = useId();
  const [password, setPassword] = useState("");
  const [strength, setStrength] = useState<Strength | null>(null);
  const inputs = userInputs.join("\u0000");
  const shown = password === "" ? null : strength;

  useEffect(() => {
    let live = true;
    if (password === "") return;
    checkStrength(password, inputs.split("\u0000")).then(
      (s) => {
        if (live) setStrength(s);
      },
      () => {
        if (live) setStrength(null);
      },
    );
    return () => {
      live = false;
    };
  }, [password, inputs]);

  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name="newPassword"
        type="password"
        autoComplete="new-password"
        required
        aria-describedby={meterId}
        onChange={(event) => {
          setPassword(event.target.value);
        }}
      />
      <div id={meterId} className="strength" aria-live="polite">
        {shown !== null && (
          <>
            <meter min={0} max={4} low={2} high={3} optimum={4} value={shown.score} aria-label="Password strength" />
            <span>
              {strengthWords(shown.score)}
              {shown.score < MIN_SCORE ? ": choose a longer or less common password." : ""}
            </span>
            {shown.score < MIN_SCORE && shown.warning !== "" && <span className="hint"> {shown.warning}</span>}
          </>
        )}
        {shown === null && (
          <span className="hint">Use a long passphrase of several unrelated words. Nobody can reset it for you.</span>
        )}
      </div>
      <label htmlFor={againId}>{label} again</label>
      <input id={againId} name="newPasswordAgain" type="password" autoComplete="new-password" required />
    </>
  );
}

/** A problem with the typed new password, or null when it may be used. */
export async function checkNewPassword(password: string, again: string, userInputs: readonly string[]): Promise<string | null> {
  if (password === "") return "Choose a password.";
  if (password !== again) return "The two passwords are not the same.";
  const strength = await checkStrength(password, userInputs);
  if (strength.score < MIN_SCORE) {
    return "That password is too easy to guess. Choose a longer or less common one (a few unrelated words work well).";
  }
  return null;
}

export function clearPasswordFields(form: HTMLFormElement): void {
  for (const name of ["newPassword", "newPasswordAgain", "password", "currentPassword"]) {
    const field = form.elements.namedItem(name);
    if (field instanceof HTMLInputElement) field.value = "";
  }
}
