/** Typed access into the parsed vector JSON (tests only): a wrong shape fails loudly. */
export type J = Record<string, unknown>;

function bad(key: string, want: string): never {
  throw new Error(`vector field ${key} is not ${want}`);
}

export function str(o: J, k: string): string {
  const v = o[k];
  return typeof v === "string" ? v : bad(k, "a string");
}
export function optStr(o: J, k: string): string | undefined {
  const v = o[k];
  return v === null || v === undefined ? undefined : str(o, k);
}
export function num(o: J, k: string): number {
  const v = o[k];
  return typeof v === "number" ? v : bad(k, "a number");
}
export function obj(o: J, k: string): J {
  const v = o[k];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as J) : bad(k, "an object");
}
export function optObj(o: J, k: string): J | undefined {
  const v = o[k];
  return v === null || v === undefined ? undefined : obj(o, k);
}
export function arr(o: J, k: string): J[] {
  const v = o[k];
  return Array.isArray(v) ? (v as J[]) : bad(k, "an array");
}
export function optArr(o: J, k: string): J[] | undefined {
  const v = o[k];
  return v === null || v === undefined ? undefined : arr(o, k);
}
export function strs(o: J, k: string): string[] {
  const v = o[k];
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v) : bad(k, "a string array");
}
export function asJ(v: unknown): J {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as J) : bad("(root)", "an object");
}
