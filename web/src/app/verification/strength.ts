// The reset page's judgement of a new password, on top of the app's one zxcvbn-ts checker
// (app/strength.ts: loaded on first use, in the browser only, crypto-protocol §3.5).
import { MIN_SCORE, checkStrength, type Strength } from "../strength";

export { checkStrength, type Strength };

export const MIN_LENGTH = 10;

/** A reason to refuse the password, or null when it is strong enough. */
export function weakness(password: string, strength: Strength | null): string | null {
  if (password.length < MIN_LENGTH) return `Use at least ${String(MIN_LENGTH)} characters.`;
  if (strength === null) return "Checking how strong this password is…";
  if (strength.score < MIN_SCORE) {
    const why = [strength.warning, ...strength.suggestions].filter((s) => s !== "").join(" ");
    return `This password would be too easy to guess.${why === "" ? "" : ` ${why}`}`;
  }
  return null;
}
