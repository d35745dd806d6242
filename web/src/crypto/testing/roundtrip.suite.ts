/**
 * Round-trip and tamper tests of the whole protocol core, defined once and run both in Node
 * (`roundtrip.test.ts`) and in Chromium (`roundtrip.browser.test.ts`).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { b64url, concat, fromB64url, newUuidV7, utf8 } from "../encoding";
import { asPlaintext, type Bytes, type Plaintext } from "../types";
import { keyId, generateKeyPair } from "../primitives";
import {
  createGrant,
  createRewrap,
  openItem,
  openStreamItemBytes,
  sealItem,
  sealRevision,
  sealStreamItem,
  type ItemUpload,
} from "../items";
import { decryptStream, encryptStream, streamCiphertextLength, fileMetaPrefix, splitFileMeta } from "../stream";
import { createAccountKeys, openBundle, openPwWrap, openRecEscrow, sealPwWrap, verifyAekBind } from "../account";
import { derivePasswordKeys, DEFAULT_KDF, formatSecretKey, generateSecretKey, parseSecretKey, checkKdfParams } from "../password";
import { importHkdfKey } from "../primitives";
import {
  GENESIS_PREV_HASH,
  acceptDeviceLists,
  deviceListHash,
  generateDeviceKeys,
  openDevWrap,
  sealDevWrap,
  signDeviceList,
  verifyDeviceListSignature,
  type UnsignedDeviceList,
} from "../devices";
import {
  Directory,
  acceptPracticeConfigs,
  issueMemberCert,
  loadPracticeKey,
  openPrskWrap,
  parseSheetQrPayload,
  sealPrskWrap,
  seedPkcs8ForTest,
  sheetQrPayload,
  signMemberRevocation,
  signPracticeConfig,
} from "./practice-helpers";
import { practiceSecurityCode, safetyNumber } from "../verification";
import { checkSdpFingerprints, signFingerprint, verifyFingerprintStatement } from "../webrtc";
import { author, codeOf, makeWorld, outsider, type World } from "./world";

const enc = (s: string): Plaintext => asPlaintext(utf8(s));

async function pipeAll(input: Uint8Array, ts: { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> }, chunk = 65536): Promise<Bytes> {
  const out: Uint8Array[] = [];
  const reading = (async () => {
    const r = ts.readable.getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      out.push(value);
    }
  })();
  const writing = (async () => {
    const w = ts.writable.getWriter();
    for (let i = 0; i < input.length; i += chunk) await w.write(input.subarray(i, Math.min(input.length, i + chunk)));
    await w.close();
  })();
  await Promise.all([reading, writing]);
  return concat(...out);
}

function pattern(n: number): Bytes {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function flipB64(s: string, bit = 0): string {
  const b = fromB64url(s);
  const i = Math.floor(bit / 8) % b.length;
  b[i] = (b[i] ?? 0) ^ (1 << (bit % 8));
  return b64url(b);
}

export function defineRoundTripSuite(): void {
  let worldP: Promise<World> | undefined;
  const world = (): Promise<World> => (worldP ??= makeWorld());

  describe("items", () => {
    test("an inline item opens for every recipient and the PRK, not for others", async () => {
      const w = await world();
      const { upload } = await sealItem(
        { practiceId: w.practiceId, type: "message", author: author(w, "alice"), recipients: [w.recipient("alice"), w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_001 },
        enc("hello"),
      );
      expect(upload.wraps).toHaveLength(3);
      for (const wr of upload.wraps) expect(fromB64url(wr.ct)).toHaveLength(80);
      for (const ctx of [w.readerCtx("alice"), w.readerCtx("bob"), w.prkCtx()]) {
        const opened = await openItem(upload, ctx);
        expect(new TextDecoder().decode(opened.payload)).toBe("hello");
        opened.cek.drop();
      }
      expect(await codeOf(openItem(upload, w.readerCtx("carol")))).toBe("E_NOT_RECIPIENT");
    });

    test("tampering gives typed errors, never plaintext", async () => {
      const w = await world();
      const sealed = await sealItem(
        { practiceId: w.practiceId, type: "note", author: author(w, "alice"), recipients: [w.recipient("alice"), w.prkRecipient()], createdAt: 1_700_000_000_002 },
        enc("note body"),
      );
      const up = sealed.upload;
      const other = await sealItem(
        { practiceId: w.practiceId, type: "note", author: author(w, "alice"), recipients: [w.recipient("alice"), w.prkRecipient()], createdAt: 1_700_000_000_003 },
        enc("other"),
      );
      const ctx = w.readerCtx("alice");
      const withHdr = (patch: Partial<ItemUpload["hdr"]>): ItemUpload => ({ ...up, hdr: { ...up.hdr, ...patch } });
      expect(await codeOf(openItem(withHdr({ suite: "qr2" }), ctx))).toBe("E_SUITE");
      expect(await codeOf(openItem(withHdr({ created_at: 1 }), ctx))).toBe("E_CERT"); // before valid_from
      expect(await codeOf(openItem(withHdr({ created_at: up.hdr.created_at + 1 }), ctx))).toBe("E_SIG");
      expect(await codeOf(openItem(withHdr({ type: "message" }), ctx))).toBe("E_SIG");
      expect(await codeOf(openItem(withHdr({ item_id: "not-a-uuid" }), ctx))).toBe("E_ENCODING");
      expect(await codeOf(openItem({ ...up, sig: flipB64(up.sig, 5) }, ctx))).toBe("E_SIG");
      if ("ct" in up.body) expect(await codeOf(openItem({ ...up, body: { ct: flipB64(up.body.ct, 200) } }, ctx))).toBe("E_SIG");
      const swapped = up.wraps.map((x, i) => ({ ...x, ct: other.upload.wraps[i]?.ct ?? "" }));
      expect(await codeOf(openItem({ ...up, wraps: swapped }, ctx))).toBe("E_WRAP");
      expect(await codeOf(openItem({ ...up, wraps: up.wraps.map((x) => ({ ...x, ct: flipB64(x.ct, 300) })) }, ctx))).toBe("E_WRAP");
      expect(await codeOf(openItem(up, { ...ctx, practiceId: newUuidV7() }))).toBe("E_CERT");
      sealed.cek.drop();
      other.cek.drop();
    });

    test("a malicious author cannot hand recipients a CEK that fails the commitment", async () => {
      const w = await world();
      const a = author(w, "alice");
      const good = await sealItem(
        { practiceId: w.practiceId, type: "message", author: a, recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_004 },
        enc("x"),
      );
      // Re-sign a header whose cek_commit belongs to another CEK: the wrap opens, the commitment does not match.
      const other = await sealItem(
        { practiceId: w.practiceId, type: "message", author: a, recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_004, itemId: good.upload.hdr.item_id },
        enc("x"),
      );
      const { headerHash, itemSigMessage } = await import("../items");
      const { sha256, sign } = await import("../primitives");
      const hdr = { ...good.upload.hdr, cek_commit: other.upload.hdr.cek_commit };
      const h = await headerHash(hdr);
      const wraps = await Promise.all(
        good.upload.wraps.map(async (x) => ({ ...x, ct: b64url(await good.cek.wrapTo(x.kind === "prk" ? w.practice.prk.pub : w.recipient("bob").pub, hdr.item_id, fromB64url(x.key_id), h)) })),
      );
      const body = "ct" in good.upload.body ? fromB64url(good.upload.body.ct) : new Uint8Array();
      const sig = b64url(await sign(a.aik.privateKey, itemSigMessage(h, await sha256(body))));
      expect(await codeOf(openItem({ hdr, body: good.upload.body, wraps, sig }, w.readerCtx("bob")))).toBe("E_COMMIT");
      good.cek.drop();
      other.cek.drop();
    });

    test("revisions chain; a broken chain is E_CHAIN", async () => {
      const w = await world();
      const r0 = await sealItem(
        { practiceId: w.practiceId, type: "note", author: author(w, "alice"), recipients: [w.recipient("alice"), w.recipient("carol"), w.prkRecipient()], createdAt: 1_700_000_000_010 },
        enc("v0"),
      );
      const r1 = await sealRevision(r0.upload.hdr, r0.cek, author(w, "carol"), 1_700_000_000_011, enc("v1 by carol"));
      const r2 = await sealRevision(r1.upload.hdr, r0.cek, author(w, "alice"), 1_700_000_000_012, enc("v2"));
      const opened = await openItem(r2.upload, w.readerCtx("alice", { earlierRevisions: [r0.upload, r1.upload] }));
      expect(new TextDecoder().decode(opened.payload)).toBe("v2");
      expect(b64url(opened.rootH)).toBe(b64url(r0.h));
      expect((await openItem(r1.upload, w.prkCtx({ earlierRevisions: [r0.upload] }))).hdr.revision).toBe(1);
      expect(await codeOf(openItem(r2.upload, w.readerCtx("alice", { earlierRevisions: [r0.upload] })))).toBe("E_CHAIN");
      expect(await codeOf(openItem(r2.upload, w.readerCtx("alice", { earlierRevisions: [r1.upload, r0.upload] })))).toBe("E_CHAIN");
      r0.cek.drop();
    });

    test("grants open for the grantee; a grant by a non-recipient is ignored", async () => {
      const w = await world();
      const s = await sealItem(
        { practiceId: w.practiceId, type: "note", author: author(w, "alice"), recipients: [w.recipient("alice"), w.prkRecipient()], createdAt: 1_700_000_000_020 },
        enc("shared later"),
      );
      const carol = w.users.carol;
      if (carol === undefined) throw new Error("fixture");
      const grant = await createGrant({ itemId: s.upload.hdr.item_id, rootH: s.h, cek: s.cek, grantee: { userId: carol.userId, aekPub: carol.sealed.account.aekPub }, granter: author(w, "alice"), grantedAt: 1_700_000_000_021 });
      const opened = await openItem(s.upload, w.readerCtx("carol", { grants: [grant] }));
      expect(new TextDecoder().decode(opened.payload)).toBe("shared later");
      const forged = await createGrant({ itemId: s.upload.hdr.item_id, rootH: s.h, cek: s.cek, grantee: { userId: carol.userId, aekPub: carol.sealed.account.aekPub }, granter: author(w, "bob"), grantedAt: 1_700_000_000_021 });
      expect(await codeOf(openItem(s.upload, w.readerCtx("carol", { grants: [forged] })))).toBe("E_NOT_RECIPIENT");
      expect(await codeOf(openItem(s.upload, w.readerCtx("carol", { grants: [{ ...grant, sig: flipB64(grant.sig) }] })))).toBe("E_SIG");
      s.cek.drop();
    });

    test("a re-wrap to a rotated AEK opens", async () => {
      const w = await world();
      const s = await sealItem(
        { practiceId: w.practiceId, type: "message", author: author(w, "alice"), recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_030 },
        enc("rotate me"),
      );
      const fresh = await generateKeyPair("x25519");
      const rewrap = await createRewrap({ itemId: s.upload.hdr.item_id, rootH: s.h, cek: s.cek, newAekPub: fresh.pub });
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const ctx = { ...w.readerCtx("bob"), reader: { kind: "user" as const, id: bob.userId, keyPair: fresh.pair, pub: fresh.pub }, rewraps: [rewrap] };
      expect(new TextDecoder().decode((await openItem(s.upload, ctx)).payload)).toBe("rotate me");
      expect(await codeOf(openItem(s.upload, { ...ctx, rewraps: [] }))).toBe("E_WRAP");
      s.cek.drop();
    });

    test("fast-check: any single bit flip in body, wraps or signature is a typed error", async () => {
      const w = await world();
      const s = await sealItem(
        { practiceId: w.practiceId, type: "message", author: author(w, "alice"), recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_040 },
        enc("fast-check payload"),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom("body", "wrap", "sig"), fc.nat(4000), async (where, bit) => {
          let up: ItemUpload = s.upload;
          if (where === "body" && "ct" in up.body) up = { ...up, body: { ct: flipB64(up.body.ct, bit) } };
          if (where === "wrap") up = { ...up, wraps: up.wraps.map((x) => ({ ...x, ct: flipB64(x.ct, bit) })) };
          if (where === "sig") up = { ...up, sig: flipB64(up.sig, bit) };
          const code = await codeOf(openItem(up, w.readerCtx("bob")));
          expect(["E_SIG", "E_WRAP", "E_COMMIT", "E_BODY"]).toContain(code);
        }),
        { numRuns: 40 },
      );
      s.cek.drop();
    });
  });

  describe("set-up checks", () => {
    test("feature detection finds Ed25519, X25519 and streams", async () => {
      const { detectSupport } = await import("../primitives");
      expect(await detectSupport()).toEqual({ ok: true, missing: [] });
    });

    test("verifyRecipient: certified, pinned, newest aek_bind", async () => {
      const w = await world();
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const { aekBindEnvelope } = await import("../account");
      const { Pins, verifyRecipient } = await import("../items");
      const other = await generateKeyPair("x25519");
      const b1 = await aekBindEnvelope(bob.sealed.account.aik.privateKey, bob.userId, bob.sealed.account.aekPub, 1, 1);
      const b2 = await aekBindEnvelope(bob.sealed.account.aik.privateKey, bob.userId, other.pub, 2, 2);
      const aikId = b64url(bob.sealed.account.aikId);
      const r = await verifyRecipient(w.directory, new Pins(), { userId: bob.userId, aikId, aekBinds: [b1, b2], now: 1_700_000_000_000 });
      expect(r.pub).toEqual(other.pub);
      const forged = { ...b2, ver: 3, sig: b1.sig };
      expect((await verifyRecipient(w.directory, new Pins(), { userId: bob.userId, aikId, aekBinds: [b1, b2, forged], now: 1_700_000_000_000 })).pub).toEqual(other.pub);
      expect(await codeOf(verifyRecipient(w.directory, new Pins({ [bob.userId]: ["AAAAAAAAAAAAAAAAAAAAAA"] }), { userId: bob.userId, aikId, aekBinds: [b1], now: 1_700_000_000_000 }))).toBe("E_PIN_CHANGED");
      expect(await codeOf(verifyRecipient(w.directory, new Pins(), { userId: bob.userId, aikId, aekBinds: [b1], now: 1 }))).toBe("E_CERT");
    });
  });

  describe("streams", () => {
    test("fast-check: any plaintext and chunking round-trips; any bit flip or cut fails typed", async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 700 }), fc.nat(), fc.nat(), async (pt, chunk, flipAt, cutAt) => {
          const cek = crypto.getRandomValues(new Uint8Array(32));
          const aad = new Uint8Array(32);
          const ct = await pipeAll(pt, encryptStream(cek, aad), chunk);
          expect(ct.length).toBe(streamCiphertextLength(pt.length));
          expect(b64url(await pipeAll(ct, decryptStream(cek, aad), chunk))).toBe(b64url(pt));
          const flipped = ct.slice();
          const i = flipAt % ct.length;
          flipped[i] = (flipped[i] ?? 0) ^ 1;
          expect(["E_BODY", "E_TRUNCATED"]).toContain(await codeOf(pipeAll(flipped, decryptStream(cek, aad), chunk)));
          const cut = ct.subarray(0, cutAt % ct.length);
          expect(["E_BODY", "E_TRUNCATED"]).toContain(await codeOf(pipeAll(cut, decryptStream(cek, aad), chunk)));
        }),
        { numRuns: 60 },
      );
    });


    const sizes = [0, 1, 1048519, 1048520, 1048521, 2097080, 2097081, 2_500_000];
    test.each(sizes)("round trip and length formula for %i bytes", async (size) => {
      const cek = crypto.getRandomValues(new Uint8Array(32));
      const aad = crypto.getRandomValues(new Uint8Array(32));
      const pt = pattern(size);
      const ct = await pipeAll(pt, encryptStream(cek, aad), 300_001);
      expect(ct.length).toBe(streamCiphertextLength(size));
      const back = await pipeAll(ct, decryptStream(cek, aad, { expectedPlaintextLength: size }), 77_777);
      expect(b64url(back) === b64url(pt)).toBe(true);
    });

    test("truncated, extended, reordered and flipped streams fail", async () => {
      const cek = crypto.getRandomValues(new Uint8Array(32));
      const aad = new Uint8Array(32);
      const pt = pattern(2_500_000);
      const ct = await pipeAll(pt, encryptStream(cek, aad));
      const first = 40 + 1048536;
      const dec = (c: Uint8Array): Promise<Bytes> => pipeAll(c, decryptStream(cek, aad));
      expect(await codeOf(dec(ct.subarray(0, first + 1048576)))).toBe("E_TRUNCATED");
      expect(await codeOf(dec(ct.subarray(0, 50)))).toBe("E_TRUNCATED");
      expect(await codeOf(dec(ct.subarray(0, ct.length - 1)))).toBe("E_BODY");
      const seg1 = ct.subarray(first, first + 1048576);
      const seg2 = ct.subarray(first + 1048576);
      expect(await codeOf(dec(concat(ct.subarray(0, first), seg2, seg1)))).not.toBe("no error");
      const flipped = ct.slice();
      flipped[first + 100] = (flipped[first + 100] ?? 0) ^ 1;
      expect(await codeOf(dec(flipped))).toBe("E_BODY");
      // A whole extra segment after the real last one: E_BODY (as on the Python side).
      const oneSeg = await pipeAll(pattern(1048520), encryptStream(cek, aad));
      const extra = await pipeAll(pattern(5), encryptStream(cek, aad));
      expect(await codeOf(dec(concat(oneSeg, extra.subarray(40))))).toBe("E_BODY");
      expect(await codeOf(dec(concat(oneSeg, new Uint8Array(16))))).toBe("E_BODY");
      const badHeader = ct.slice();
      badHeader[0] = 0x29;
      expect(await codeOf(dec(badHeader))).toBe("E_BODY");
      expect(await codeOf(pipeAll(ct, decryptStream(cek, new Uint8Array(32).fill(1))))).toBe("E_BODY");
      expect(await codeOf(pipeAll(ct, decryptStream(cek, aad, { expectedPlaintextLength: 5 })))).toBe("E_TRUNCATED");
    });

    test("a stream item with file metadata opens, hash-checked against the signature", async () => {
      const w = await world();
      const meta = { name: "scan.pdf", mime: "application/pdf", size: 1_200_000 };
      const body = concat(fileMetaPrefix(meta), pattern(meta.size));
      const sealer = await sealStreamItem(
        { practiceId: w.practiceId, type: "file", author: author(w, "alice"), recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_050 },
        body.length,
      );
      const blob = await pipeAll(body, sealer.stream);
      const upload = await sealer.finish(newUuidV7());
      const opened = await openStreamItemBytes(upload, w.readerCtx("bob"), blob);
      expect(b64url(opened.payload) === b64url(body)).toBe(true);
      const split = splitFileMeta();
      const fileBytes = await pipeAll(opened.payload, split.stream);
      expect(await split.meta).toEqual(meta);
      expect(fileBytes.length).toBe(meta.size);
      const cut = blob.subarray(0, blob.length - 20);
      expect(await codeOf(openStreamItemBytes(upload, w.readerCtx("bob"), cut))).not.toBe("no error");
      expect(await codeOf(openStreamItemBytes({ ...upload, sig: flipB64(upload.sig) }, w.readerCtx("bob"), blob))).toBe("E_SIG");
      sealer.cek.drop();
    });
  });

  describe("accounts, devices and practice", () => {
    test("password → KEK → pw_wrap → UK → bundle; wrong password is E_UNLOCK", async () => {
      const w = await world();
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const sk = generateSecretKey();
      expect(parseSecretKey(formatSecretKey(sk).toLowerCase().replaceAll("-", " "))).toEqual(sk);
      const keys = await derivePasswordKeys("correct horse ﬁ", salt, DEFAULT_KDF, sk);
      expect(keys.authKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(keys.kek.extractable).toBe(false);
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const wrap = await sealPwWrap(keys.kek, bob.sealed.ukBytes, bob.userId, salt, DEFAULT_KDF, 1);
      const uk = await openPwWrap(keys.kek, wrap, bob.userId, salt, DEFAULT_KDF, 1);
      const acct = await openBundle(await importHkdfKey(uk), bob.userId, bob.sealed.bundle, bob.sealed.account.aikPub, bob.sealed.account.aekPub, 1);
      expect(acct.aik.privateKey.extractable).toBe(false);
      expect(acct.aek.privateKey.extractable).toBe(false);
      expect(await codeOf(openPwWrap(keys.kek, wrap, bob.userId, salt, DEFAULT_KDF, 2))).toBe("E_UNLOCK");
      const wrongSk = await derivePasswordKeys("correct horse fi", salt, DEFAULT_KDF); // NFKC: same password, no SK
      expect(await codeOf(openPwWrap(wrongSk.kek, wrap, bob.userId, salt, DEFAULT_KDF, 1))).toBe("E_UNLOCK");
      expect(await codeOf(openBundle(await importHkdfKey(uk), bob.userId, bob.sealed.bundle, bob.sealed.account.aekPub, bob.sealed.account.aekPub, 1))).toBe("E_UNLOCK");
      await verifyAekBind(bob.sealed.account.aikPub, bob.sealed.aekBindSig, bob.userId, bob.sealed.account.aekPub, 1, 1_700_000_000_000);
      const escrowed = await openRecEscrow(w.practice.prk.pair, w.practice.prk.pub, w.practiceId, bob.userId, bob.sealed.account.aekPub, bob.sealed.recEscrow);
      expect(escrowed).toHaveLength(48);
      expect(() => checkKdfParams({ alg: "argon2id", m: 16384, t: 3, p: 1 })).toThrow(/E_KDF_PARAMS/);
      expect(() => checkKdfParams({ alg: "argon2id", m: 65536, t: 3, p: 2 })).toThrow(/E_KDF_PARAMS/);
    });

    test("dev_wrap and the signed device list chain", async () => {
      const w = await world();
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const dev = await generateDeviceKeys();
      const deviceId = newUuidV7();
      const dw = await sealDevWrap(dev.dkEnc.pub, bob.userId, deviceId, bob.sealed.ukBytes);
      expect(await openDevWrap(dev.dkEnc, bob.userId, deviceId, dw)).toEqual(bob.sealed.ukBytes);
      expect(await codeOf(openDevWrap(dev.dkEnc, bob.userId, newUuidV7(), dw))).toBe("E_WRAP");
      const aik = bob.sealed.account;
      const entry = { device_id: deviceId, dk_sig_pub: b64url(dev.dkSig.pub), dk_enc_pub: b64url(dev.dkEnc.pub), added_at: 1, revoked_at: 0 };
      const base: Omit<UnsignedDeviceList, "suite"> = { user_id: bob.userId, aik_id: b64url(aik.aikId), seq: 1, prev_hash: GENESIS_PREV_HASH, created_at: 1, entries: [entry] };
      const opts = { userId: bob.userId, aikPubs: [aik.aikPub] };
      const l1 = await signDeviceList(aik.aik.privateKey, base);
      await verifyDeviceListSignature(l1, aik.aikPub);
      const pin1 = await acceptDeviceLists(undefined, [l1], opts);
      const l2 = await signDeviceList(aik.aik.privateKey, { ...base, seq: 2, prev_hash: b64url(await deviceListHash(l1)), created_at: 2, entries: [{ ...entry, revoked_at: 2 }] });
      const pin2 = await acceptDeviceLists(pin1, [l2], opts);
      expect(pin2.seq).toBe(2);
      expect(await codeOf(acceptDeviceLists(pin2, [l1], opts))).toBe("E_ROLLBACK");
      const fork = await signDeviceList(aik.aik.privateKey, { ...base, seq: 2, prev_hash: b64url(await deviceListHash(l1)), created_at: 3, entries: [] });
      expect(await codeOf(acceptDeviceLists(pin2, [fork], opts))).toBe("E_CHAIN");
      expect(await codeOf(acceptDeviceLists(pin1, [l1, fork], opts))).toBe("E_CHAIN");
      const unrevoke = await signDeviceList(aik.aik.privateKey, { ...base, seq: 3, prev_hash: b64url(await deviceListHash(l2)), created_at: 4, entries: [entry] });
      expect(await codeOf(acceptDeviceLists(pin1, [l2, unrevoke], opts))).toBe("E_CHAIN");
      expect(await codeOf(acceptDeviceLists(pin1, [unrevoke], opts))).toBe("E_CHAIN");
      expect(await codeOf(verifyDeviceListSignature({ ...l2, created_at: 9 }, aik.aikPub))).toBe("E_SIG");
    });

    test("practice config chain, certificates, revocation, sheet and PRSK wrap", async () => {
      const w = await world();
      const prsk = w.practice.prsk;
      const c1 = await signPracticeConfig(prsk.pair.privateKey, { practice_id: w.practiceId, seq: 1, prev_hash: GENESIS_PREV_HASH, prsk_pub: b64url(prsk.pub), prk_pub: b64url(w.practice.prk.pub), name: "Calm Practice", policy: { b: "2", a: "1" } });
      const copts = { practiceId: w.practiceId, prskPub: prsk.pub };
      const h1 = await acceptPracticeConfigs(undefined, [c1], copts);
      const { practiceConfigHash } = await import("../practice");
      const { suite: _s, sig: _g, ...c1body } = c1;
      const c2 = await signPracticeConfig(prsk.pair.privateKey, { ...c1body, seq: 2, prev_hash: b64url(await practiceConfigHash(c1)) });
      const h2 = await acceptPracticeConfigs(h1, [c2], copts);
      expect(await codeOf(acceptPracticeConfigs(h2, [c1], copts))).toBe("E_ROLLBACK");
      expect(await codeOf(acceptPracticeConfigs(undefined, [{ ...c1, name: "Evil" }], copts))).toBe("E_SIG");

      const alice = w.users.alice;
      const bob = w.users.bob;
      if (alice === undefined || bob === undefined) throw new Error("fixture");
      await w.directory.verifyCert(alice.cert);
      const { suite: _cs, sig: _cg, ...bobCert } = bob.cert;
      const clientCert = await issueMemberCert(alice.sealed.account.aik.privateKey, { ...bobCert, issuer_kind: "member", issuer_key_id: b64url(alice.sealed.account.aikId), valid_from: 1_650_000_000_000 });
      const withAlice = new Directory(w.practiceId, prsk.pub, [alice.cert]);
      await withAlice.verifyCert(clientCert);
      expect(await codeOf(new Directory(w.practiceId, prsk.pub, []).verifyCert(clientCert))).toBe("E_CERT");
      expect(await codeOf(new Directory(newUuidV7(), prsk.pub, []).verifyCert(alice.cert))).toBe("E_CERT");
      const rev = await signMemberRevocation(prsk.pair.privateKey, prsk.pub, { practice_id: w.practiceId, user_id: alice.userId, aik_id: b64url(alice.sealed.account.aikId), revoked_at: 1_700_000_000_000, reason: "left" });
      const revoked = new Directory(w.practiceId, prsk.pub, [alice.cert], [rev]);
      expect(await codeOf(revoked.verifyCert(alice.cert, 1_700_000_000_001))).toBe("E_CERT");
      await revoked.verifyCert(alice.cert, 1_699_999_999_999);
      // The client certified by alice before she left stays valid.
      await revoked.verifyCert(clientCert, 1_700_000_000_005);

      const prkSeed = crypto.getRandomValues(new Uint8Array(32));
      const prskSeed = crypto.getRandomValues(new Uint8Array(32));
      const parsed = parseSheetQrPayload(sheetQrPayload(w.practiceId, prkSeed, prskSeed));
      expect(parsed.practiceId).toBe(w.practiceId);
      expect(parsed.prkSeed).toEqual(prkSeed);
      expect(await codeOf(loadPracticeKey(prkSeed, "x25519", w.practice.prk.pub))).toBe("E_CERT");
      const loaded = await loadPracticeKey(w.practice.prkSeed, "x25519", w.practice.prk.pub);
      expect(loaded.pair.privateKey.extractable).toBe(false);

      const prskPkcs8 = seedPkcs8ForTest(w.practice.prskSeed);
      const pw = await sealPrskWrap(alice.sealed.account.aekPub, w.practiceId, alice.userId, prsk.pub, prskPkcs8);
      const opened = await openPrskWrap(alice.sealed.account.aek, alice.sealed.account.aekPub, w.practiceId, alice.userId, prsk.pub, pw);
      expect(opened.pub).toEqual(prsk.pub);
      expect((await practiceSecurityCode(w.practiceId, prsk.pub)).length).toBe(30);
    });

    test("safety numbers are symmetric, 60 digits", async () => {
      const w = await world();
      const a = { userId: w.users.alice?.userId ?? "", aikPub: w.users.alice?.sealed.account.aikPub ?? new Uint8Array() };
      const b = { userId: w.users.bob?.userId ?? "", aikPub: w.users.bob?.sealed.account.aikPub ?? new Uint8Array() };
      const ab = await safetyNumber(a, b);
      expect(ab).toMatch(/^\d{60}$/);
      expect(await safetyNumber(b, a)).toBe(ab);
    });

    test("signed DTLS fingerprints", async () => {
      const w = await world();
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const dev = await generateDeviceKeys();
      const deviceId = newUuidV7();
      const list = await signDeviceList(bob.sealed.account.aik.privateKey, {
        user_id: bob.userId, aik_id: b64url(bob.sealed.account.aikId), seq: 1, prev_hash: GENESIS_PREV_HASH, created_at: 1,
        entries: [{ device_id: deviceId, dk_sig_pub: b64url(dev.dkSig.pub), dk_enc_pub: b64url(dev.dkEnc.pub), added_at: 1, revoked_at: 0 }],
      });
      const fp = crypto.getRandomValues(new Uint8Array(32));
      const hexFp = Array.from(fp, (x) => x.toString(16).padStart(2, "0").toUpperCase()).join(":");
      const callId = newUuidV7();
      const st = await signFingerprint(dev.dkSig.pair.privateKey, { callId, role: "offerer", userId: bob.userId, deviceId, fingerprint: fp });
      const sdp = `v=0\r\na=fingerprint:sha-256 ${hexFp}\r\nm=audio\r\na=fingerprint:sha-256 ${hexFp}\r\n`;
      await verifyFingerprintStatement(st, { callId, role: "offerer", userId: bob.userId, deviceList: list, remoteSdp: sdp });
      expect(await codeOf(verifyFingerprintStatement(st, { callId, role: "answerer", userId: bob.userId, deviceList: list }))).toBe("E_FINGERPRINT");
      expect(await codeOf(verifyFingerprintStatement({ ...st, sig: flipB64(st.sig) }, { callId, role: "offerer", userId: bob.userId, deviceList: list }))).toBe("E_FINGERPRINT");
      expect(() => { checkSdpFingerprints(sdp.replace("sha-256", "sha-1"), fp); }).toThrow(/E_FINGERPRINT/);
      const other = hexFp.replace(/^../, hexFp.startsWith("00") ? "01" : "00");
      expect(() => { checkSdpFingerprints(`${sdp}a=fingerprint:sha-256 ${other}\r\n`, fp); }).toThrow(/E_FINGERPRINT/);
      await expect(keyId("ed25519", dev.dkSig.pub)).resolves.toHaveLength(16);
    });

    test("a recovered AEK keeps history readable (new UK and AIK)", async () => {
      const w = await world();
      const bob = w.users.bob;
      if (bob === undefined) throw new Error("fixture");
      const s = await sealItem(
        { practiceId: w.practiceId, type: "message", author: author(w, "alice"), recipients: [w.recipient("bob"), w.prkRecipient()], createdAt: 1_700_000_000_060 },
        enc("old history"),
      );
      const pkcs8 = await openRecEscrow(w.practice.prk.pair, w.practice.prk.pub, w.practiceId, bob.userId, bob.sealed.account.aekPub, bob.sealed.recEscrow);
      const t = await generateKeyPair("x25519");
      const { sealRecoveryTransfer, openRecoveryTransfer } = await import("../practice");
      const transfer = await sealRecoveryTransfer(t.pub, w.practiceId, bob.userId, bob.sealed.account.aekPub, pkcs8);
      const got = await openRecoveryTransfer(t, w.practiceId, bob.userId, bob.sealed.account.aekPub, transfer);
      const re = await createAccountKeys({ userId: bob.userId, practiceId: w.practiceId, prkPub: w.practice.prk.pub, createdAt: 2, recoveredAekPkcs8: got });
      expect(re.account.aekPub).toEqual(bob.sealed.account.aekPub);
      expect(re.account.aikPub).not.toEqual(bob.sealed.account.aikPub);
      const ctx = { ...w.readerCtx("bob"), reader: { kind: "user" as const, id: bob.userId, keyPair: re.account.aek, pub: re.account.aekPub } };
      expect(new TextDecoder().decode((await openItem(s.upload, ctx)).payload)).toBe("old history");
      const o = await outsider();
      expect(await codeOf(openRecoveryTransfer({ pair: o.keyPair, pub: o.pub as never }, w.practiceId, bob.userId, bob.sealed.account.aekPub, transfer))).toBe("E_WRAP");
      s.cek.drop();
    });
  });
}
