/**
 * Independent HPKE oracle (spec §14): the vendored RFC 9180 / CFRG vectors for DHKEM(X25519,
 * HKDF-SHA256) / HKDF-SHA256 / AES-GCM base mode, run through @hpke/core: key derivation,
 * sealing with the fixed ephemeral key (byte for byte) and opening every encryption.
 */
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { describe, expect, test } from "vitest";
import { fromHex, hex } from "../encoding";
import { loadVectorFile, vectorFileNames } from "./vector-files";

interface HpkeEntry {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmE?: string;
  ikmR?: string;
  skEm?: string;
  skRm: string;
  pkRm: string;
  enc: string;
  encryptions: { seq?: number; aad: string; ct?: string; ciphertext?: string; pt?: string; plaintext?: string }[];
}

const buf = (h: string): ArrayBuffer => fromHex(h).buffer;

export function defineHpkeOracleSuite(): void {
  describe("HPKE oracle vectors (RFC 9180 / CFRG) through @hpke/core", () => {
    test("every vendored X25519/HKDF-SHA256/AES-GCM base-mode entry passes", async () => {
      let checked = 0;
      for (const name of vectorFileNames()) {
        const data = await loadVectorFile(name);
        // Oracle files are JSON arrays of RFC 9180 entries; our own vector files are objects.
        if (!Array.isArray(data)) continue;
        const entries = data as HpkeEntry[];
        for (const e of entries) {
          if (e.mode !== 0 || e.kem_id !== 0x20 || e.kdf_id !== 1 || (e.aead_id !== 1 && e.aead_id !== 2)) continue;
          const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: e.aead_id === 1 ? new Aes128Gcm() : new Aes256Gcm() });
          if (e.ikmR !== undefined) {
            const kp = await suite.kem.deriveKeyPair(buf(e.ikmR));
            expect(hex(new Uint8Array(await suite.kem.serializePublicKey(kp.publicKey)))).toBe(e.pkRm);
          }
          const sk = await suite.kem.deserializePrivateKey(buf(e.skRm));
          const pk = await suite.kem.deserializePublicKey(buf(e.pkRm));
          const recipient = await suite.createRecipientContext({ recipientKey: { privateKey: sk, publicKey: pk }, enc: buf(e.enc), info: buf(e.info) });
          const ekm = e.ikmE !== undefined ? await suite.kem.deriveKeyPair(buf(e.ikmE)) : undefined;
          const sender = ekm === undefined ? undefined : await suite.createSenderContext({ recipientPublicKey: pk, info: buf(e.info), ekm });
          if (sender !== undefined) expect(hex(new Uint8Array(sender.enc))).toBe(e.enc);
          let seq = 0;
          for (const x of e.encryptions) {
            // RFC 9180 lists sequence numbers 0, 1, 2, 4, 255, 256: advance both contexts over
            // the gaps with the deterministic sender (same ephemeral key).
            while (sender !== undefined && x.seq !== undefined && seq < x.seq) {
              await recipient.open(await sender.seal(new ArrayBuffer(1), new ArrayBuffer(0)), new ArrayBuffer(0));
              seq++;
            }
            seq++;
            const ct = x.ct ?? x.ciphertext ?? "";
            const pt = x.pt ?? x.plaintext ?? "";
            expect(hex(new Uint8Array(await recipient.open(buf(ct), buf(x.aad))))).toBe(pt);
            if (sender !== undefined) expect(hex(new Uint8Array(await sender.seal(buf(pt), buf(x.aad))))).toBe(ct);
          }
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  });
}
