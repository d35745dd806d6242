/**
 * Typed protocol errors (spec §2.6). Every failed check in `web/src/crypto` throws a
 * `CryptoError` whose `code` is one of the spec's `E_*` strings, so the shared negative vectors
 * can name the expected failure and the UI can explain it. Messages never contain key material
 * or plaintext.
 */
export const ERROR_CODES = [
  "E_SUITE",
  "E_ENCODING",
  "E_SCHEMA",
  "E_KDF_PARAMS",
  "E_UNLOCK",
  "E_CERT",
  "E_PIN_CHANGED",
  "E_ROLLBACK",
  "E_SIG",
  "E_CHAIN",
  "E_NOT_RECIPIENT",
  "E_WRAP",
  "E_COMMIT",
  "E_BODY",
  "E_TRUNCATED",
  "E_FINGERPRINT",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class CryptoError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = "CryptoError";
    this.code = code;
  }
}

/** Throws a `CryptoError`; typed `never` so it can end an expression. */
export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new CryptoError(code, message, cause === undefined ? undefined : { cause });
}

export function isErrorCode(value: string): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Runs `fn`; any error that is not already a `CryptoError` (an `OperationError` from WebCrypto,
 * a DataError from a key import, an exception inside @hpke/core) becomes `code`. A `CryptoError`
 * raised by a deeper, more specific check passes through unchanged.
 */
export async function mapErrors<T>(code: ErrorCode, message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    return fail(code, message, e);
  }
}
