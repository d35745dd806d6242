import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  b64url,
  base32,
  checkUuidV7,
  fromB64url,
  fromBase32,
  hex,
  isUuidV7,
  le64,
  newUuidV7,
  pae,
  parseUuid,
  utf8,
  uuidFromBytes,
  uuidToBytes,
} from "./encoding";
import { formatSecretKey, parseSecretKey } from "./password";
import { splitPae } from "./practice";
import { CryptoError } from "./errors";
import { randomBytes } from "./primitives";

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return e instanceof CryptoError ? e.code : "other";
  }
  return "none";
};

describe("PAE (PASETO known answers)", () => {
  test("empty and simple inputs", () => {
    expect(hex(pae([]))).toBe("0000000000000000");
    expect(hex(pae([new Uint8Array()]))).toBe("01000000000000000000000000000000");
    expect(hex(pae([utf8("test")]))).toBe("0100000000000000040000000000000074657374");
    expect(hex(le64(2 ** 53 - 1))).toBe("ffffffffffff1f00");
    expect(code(() => le64(2 ** 53))).toBe("E_ENCODING");
    expect(code(() => le64(-1))).toBe("E_ENCODING");
  });
  test("fast-check: splitPae inverts pae", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (pieces) => {
        const back = splitPae(pae(pieces));
        expect(back.map(hex)).toEqual(pieces.map(hex));
      }),
    );
  });
});

describe("strict base64url", () => {
  test("RFC 4648 examples and rejections", () => {
    expect(b64url(utf8("foobar"))).toBe("Zm9vYmFy");
    expect(b64url(utf8("fo"))).toBe("Zm8");
    expect(b64url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
    for (const bad of ["Zm8=", "Zm 8", "Zm+8", "Zm9", "Z", "Zm9vYmF=", "Zm9vYmFz\n"]) expect(code(() => fromB64url(bad))).toBe("E_ENCODING");
    expect(code(() => fromB64url("Zm9"))).toBe("E_ENCODING"); // non-zero trailing bits
    expect(hex(fromB64url(""))).toBe("");
  });
  test("fast-check: round trip", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      expect(hex(fromB64url(b64url(b)))).toBe(hex(b));
    }));
  });
  test("fast-check: base32 round trip", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      expect(hex(fromBase32(base32(b)))).toBe(hex(b));
    }));
  });
});

describe("UUIDs", () => {
  test("canonical lowercase only; UUIDv7 checks", () => {
    const id = newUuidV7();
    expect(isUuidV7(id)).toBe(true);
    expect(uuidFromBytes(uuidToBytes(id))).toBe(id);
    expect(code(() => parseUuid(id.toUpperCase()))).toBe("E_ENCODING");
    expect(code(() => parseUuid(`{${id}}`))).toBe("E_ENCODING");
    expect(code(() => checkUuidV7("0190a0b0-0000-4000-8000-000000000000"))).toBe("E_ENCODING");
    expect(code(() => checkUuidV7("0190a0b0-0000-7000-c000-000000000000"))).toBe("E_ENCODING");
  });
});

describe("randomness", () => {
  test("10^6 generated AES-GCM nonces, 0 repeats (INT-01)", () => {
    // randomBytes(12) is exactly what aeadSeal draws for each nonce.
    const seen = new Set<string>();
    for (let n = 0; n < 1_000_000; n++) {
      const v = new Uint16Array(randomBytes(12).buffer);
      seen.add(String.fromCharCode(v[0] ?? 0, v[1] ?? 0, v[2] ?? 0, v[3] ?? 0, v[4] ?? 0, v[5] ?? 0));
    }
    expect(seen.size).toBe(1_000_000);
  });
});

describe("Secret Key format", () => {
  test("format and lenient parse, strict rejection", () => {
    const sk = new Uint8Array(16).fill(0xab);
    const text = formatSecretKey(sk);
    expect(text).toMatch(/^QR1-[A-Z2-7]{6}(-[A-Z2-7]{5}){4}$/);
    expect(hex(parseSecretKey(text))).toBe(hex(sk));
    expect(hex(parseSecretKey(text.slice(4).toLowerCase().replaceAll("-", " ")))).toBe(hex(sk));
    expect(code(() => parseSecretKey(text.slice(0, -1)))).toBe("E_ENCODING");
    expect(code(() => parseSecretKey(`${text.slice(0, -1)}B`))).toBe("E_ENCODING"); // non-zero unused bits
    expect(code(() => parseSecretKey(`${text}A`))).toBe("E_ENCODING");
  });
  test("fast-check: round trip", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      expect(hex(parseSecretKey(formatSecretKey(b)))).toBe(hex(b));
    }));
  });
});
