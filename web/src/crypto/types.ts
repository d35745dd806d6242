/**
 * Branded byte types. Plaintext and every kind of ciphertext are distinct types so that sealed
 * and readable data cannot be mixed up by accident: a `Plaintext` is only ever produced by an
 * `open*` function in this module and a ciphertext only by a `seal*` function (or by parsing a
 * received envelope). All are `Uint8Array<ArrayBuffer>` underneath, which is what WebCrypto takes.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Plain bytes with a real `ArrayBuffer` behind them (WebCrypto's `BufferSource`). */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Decrypted content or a secret about to be sealed. Never log it, never send it. */
export type Plaintext = Brand<Bytes, "Plaintext">;
/** `nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)` (spec §2.5). */
export type AeadCiphertext = Brand<Bytes, "AeadCiphertext">;
/** HPKE `enc(32) ‖ ct` (spec §2.5); 80 bytes for a 32-byte plaintext. */
export type HpkeWrap = Brand<Bytes, "HpkeWrap">;
/** A Tink AES-GCM-HKDF streaming ciphertext or a chunk of one (spec §8). */
export type StreamCiphertext = Brand<Bytes, "StreamCiphertext">;
/** A 64-byte Ed25519 signature. */
export type Signature = Brand<Bytes, "Signature">;
/** A raw 32-byte X25519 or Ed25519 public key. */
export type PublicKeyBytes = Brand<Bytes, "PublicKeyBytes">;
/** `KID(alg, pub)`: 16 bytes (spec §2.4). */
export type KeyId = Brand<Bytes, "KeyId">;
/** A lowercase canonical UUID string. */
export type Uuid = Brand<string, "Uuid">;

export const asPlaintext = (b: Bytes): Plaintext => b as Plaintext;
