// Password strength, checked in this browser only (crypto-protocol §3.5: the server never sees
// the password, so it cannot judge it). The zxcvbn dictionaries are large, so they load on first
// use through a dynamic import and stay out of the main bundle.
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";

export const MIN_SCORE = 3;

export interface Strength {
  /** 0 (guessable in seconds) to 4 (very hard to guess). */
  readonly score: number;
  readonly warning: string;
  readonly suggestions: readonly string[];
}

let checker: Promise<ZxcvbnFactory> | null = null;

function load(): Promise<ZxcvbnFactory> {
  checker ??= Promise.all([import("@zxcvbn-ts/core"), import("@zxcvbn-ts/language-common"), import("@zxcvbn-ts/language-en")]).then(
    ([core, common, en]) =>
      new core.ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...en.dictionary },
        graphs: common.adjacencyGraphs,
        translations: en.translations,
      }),
    (error: unknown) => {
      checker = null;
      throw error;
    },
  );
  return checker;
}

/** Scores a password; `userInputs` are words the person's own details give away (name, email). */
export async function checkStrength(password: string, userInputs: readonly string[] = []): Promise<Strength> {
  const zxcvbn = await load();
  const words = userInputs.flatMap((w) => w.toLowerCase().split(/[^a-z0-9]+/)).filter((w) => w.length >= 3);
  const result = zxcvbn.check(password, words);
  return { score: result.score, warning: result.feedback.warning ?? "", suggestions: result.feedback.suggestions };
}

export function strengthWords(score: number): string {
  return ["Very weak", "Weak", "Fair", "Strong", "Very strong"][score] ?? "";
}
