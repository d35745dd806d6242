// Password strength, checked in the browser only (crypto-protocol §3.5: the server never sees
// the password). zxcvbn-ts and its dictionaries are large, so they load on first use.
export interface Strength {
  /** 0 (guessable) to 4 (very hard to guess). */
  readonly score: number;
  readonly warning: string;
  readonly suggestions: readonly string[];
}

export const MIN_SCORE = 3;
export const MIN_LENGTH = 10;

let checker: Promise<(password: string, userInputs: string[]) => Strength> | null = null;

function load(): Promise<(password: string, userInputs: string[]) => Strength> {
  checker ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
      import("@zxcvbn-ts/language-en"),
    ]);
    const factory = new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
    return (password: string, userInputs: string[]): Strength => {
      const r = factory.check(password, userInputs);
      return { score: r.score, warning: r.feedback.warning ?? "", suggestions: r.feedback.suggestions };
    };
  })();
  return checker;
}

/** Scores a new password; `userInputs` (email, name) count as easy to guess. */
export async function checkStrength(password: string, userInputs: string[] = []): Promise<Strength> {
  return (await load())(password, userInputs);
}

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
