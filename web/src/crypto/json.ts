/**
 * A strict JSON reader for envelopes (spec §2.6). `JSON.parse` silently accepts what our
 * envelopes must refuse, so this small recursive-descent reader enforces: valid UTF-8
 * (`E_ENCODING`), no duplicate keys (`E_SCHEMA`), no floats, exponents or non-finite numbers and
 * integers only in [0, 2^53-1] as written (`E_ENCODING`; a negative integer is `E_ENCODING` too),
 * and nothing but JSON (`E_SCHEMA`). Strings are decoded by `JSON.parse` on the token itself.
 */
import { fail } from "./errors";
import { fromUtf8 } from "./encoding";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 64;

export function parseStrictJson(input: string | Uint8Array): JsonValue {
  const text = typeof input === "string" ? input : fromUtf8(input);
  let i = 0;

  const ws = (): void => {
    while (i < text.length && " \t\r\n".includes(text.charAt(i))) i++;
  };
  const bad = (what: string): never => fail("E_SCHEMA", `not JSON: ${what} at ${i}`);

  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const c = text.charAt(i);
      if (c === "\\") i += 2;
      else if (c === '"') {
        i++;
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          return bad("string");
        }
      } else i++;
    }
    return bad("unterminated string");
  };

  const num = (): number => {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null) return bad("number");
    i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) fail("E_ENCODING", "floats are not allowed");
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n) || n < 0) fail("E_ENCODING", "integer outside [0, 2^53-1]");
    return n;
  };

  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("E_SCHEMA", "JSON nested too deeply");
    ws();
    const c = text.charAt(i);
    if (c === "{") {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      const seen = new Set<string>();
      ws();
      if (text.charAt(i) === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"') bad("key");
        const k = str();
        if (seen.has(k)) fail("E_SCHEMA", "duplicate key");
        seen.add(k);
        ws();
        if (text.charAt(i) !== ":") bad("colon");
        i++;
        Object.defineProperty(obj, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text.charAt(i) === ",") {
          i++;
          continue;
        }
        if (text.charAt(i) === "}") {
          i++;
          return obj;
        }
        bad("object");
      }
    }
    if (c === "[") {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text.charAt(i) === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text.charAt(i) === ",") {
          i++;
          continue;
        }
        if (text.charAt(i) === "]") {
          i++;
          return arr;
        }
        bad("array");
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    for (const [lit, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    for (const lit of ["NaN", "Infinity", "-Infinity"]) if (text.startsWith(lit, i)) fail("E_ENCODING", "non-finite number");
    return bad("value");
  };

  const v = value(0);
  ws();
  if (i !== text.length) bad("trailing data");
  return v;
}
