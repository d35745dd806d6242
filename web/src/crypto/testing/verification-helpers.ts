/** Re-exports of the verification module for the vector suite, plus the code grouping. */
export * from "../verification";
import { groupDigits } from "../verification";
export const practiceCodeGroups = (code: string): string[] => groupDigits(code);
