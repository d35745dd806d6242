/**
 * Writes testdata/vectors/ts-sealed.json: objects sealed and signed by the TypeScript
 * implementation, for the Python side to open and verify (spec §14, cross-language round trips).
 * Keys are the documented world keys of qr1.json (their seeds are in that file); every seal,
 * nonce and signature is fresh, so the output differs on every run and is never compared byte
 * for byte. The format is described in testdata/vectors/README-ts-sealed.md.
 *
 * Run from web/:
 *   node --input-type=module -e "await (await import('vite')).runnerImport('./scripts/make-ts-fixtures.ts')"
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { b64url, concat, fromHex, hex, newUuidV7, utf8 } from "../src/crypto/encoding";
import { importKeyPairDerivingPub, seedToPkcs8, type KeyAlg, type KeyPairWithPub } from "../src/crypto/primitives";
import { asPlaintext, type Bytes } from "../src/crypto/types";
import { createGrant, sealItem, sealRevision, sealStreamItem, type Author, type RecipientKey } from "../src/crypto/items";
import { fileMetaPrefix, encryptStream } from "../src/crypto/stream";
import { aekBindEnvelope, bundleAad, bundleEnvelope, sealPwWrap, sealRecEscrow, bundleKey } from "../src/crypto/account";
import { derivePasswordKeys, checkKdfParams } from "../src/crypto/password";
import { sealDevWrap, signDeviceList, deviceListHash, GENESIS_PREV_HASH } from "../src/crypto/devices";
import { issueMemberCert, sealPrskWrap, sealRecoveryTransfer } from "../src/crypto/practice";
import { signFingerprint } from "../src/crypto/webrtc";
import { aeadSeal, importHkdfKey, keyId, randomBytes } from "../src/crypto/primitives";
import { arr, asJ, num, obj, str, type J } from "../src/crypto/testing/json-access";

const root = fileURLToPath(new URL("../../testdata/vectors/", import.meta.url));
const V = asJ(JSON.parse(readFileSync(`${root}qr1.json`, "utf8")));
const world = obj(V, "world");
const users = obj(world, "users");
const fh = (h: string): Bytes => fromHex(h);
const key = async (seed: string, alg: KeyAlg): Promise<KeyPairWithPub> => importKeyPairDerivingPub(seedToPkcs8(fh(seed), alg), alg);
const user = (name: string): J => obj(users, name);
const practiceId = str(world, "practice_id");
const t0 = num(obj(V, "seeds"), "t0");

async function authorOf(name: string): Promise<Author> {
  const k = await key(str(user(name), "aik_seed"), "ed25519");
  return { userId: str(user(name), "user_id"), aik: k.pair, aikPub: k.pub };
}
const recipient = (name: string): RecipientKey => ({ kind: "user", id: str(user(name), "user_id"), pub: fh(str(user(name), "aek_pub")) });
const prk: RecipientKey = { kind: "prk", id: practiceId, pub: fh(str(world, "prk_pub")) };

function pattern(n: number): Bytes {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

async function drain(input: Uint8Array, ts: { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> }): Promise<Bytes> {
  const out: Uint8Array[] = [];
  const reading = (async () => {
    const r = ts.readable.getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      out.push(value);
    }
  })();
  const w = ts.writable.getWriter();
  await w.write(input);
  await w.close();
  await reading;
  return concat(...out);
}

const payload = (o: unknown): Bytes => {
  const text = JSON.stringify(o);
  return utf8(text.padEnd(Math.ceil(text.length / 256) * 256, " "));
};

async function main(): Promise<void> {
  const therapist = await authorOf("therapist");
  const base = { practiceId, chartId: newUuidV7(), threadId: newUuidV7() };

  // Items, in the shape of qr1.json's item cases.
  const items: J[] = [];
  const msgPt = payload({ text: "Sealed in TypeScript." });
  const msg = await sealItem({ ...base, type: "message", author: therapist, recipients: [recipient("therapist"), recipient("client"), recipient("supervisor"), prk], createdAt: t0 + 100_000 }, asPlaintext(msgPt));
  items.push({ name: "ts_message_inline", revisions: [msg.upload], wraps: null, grants: [], blob: null, expect: { h: [hex(msg.h)], root_h: hex(msg.h), payload: hex(msgPt), readers: ["therapist", "client", "supervisor", "prk"] } });
  msg.cek.drop();

  const n0 = payload({ text: "Progress note, draft." });
  const n1 = payload({ text: "Progress note, revised." });
  const n2 = payload({ text: "Progress note, signed.", status: "signed" });
  const r0 = await sealItem({ ...base, type: "note", author: therapist, recipients: [recipient("therapist"), recipient("supervisor"), prk], createdAt: t0 + 101_000 }, asPlaintext(n0));
  const r1 = await sealRevision(r0.upload.hdr, r0.cek, therapist, t0 + 102_000, asPlaintext(n1));
  const r2 = await sealRevision(r1.upload.hdr, r0.cek, therapist, t0 + 103_000, asPlaintext(n2));
  const grant = await createGrant({ itemId: r0.upload.hdr.item_id, rootH: r0.h, cek: r0.cek, grantee: { userId: str(user("client"), "user_id"), aekPub: fh(str(user("client"), "aek_pub")) }, granter: therapist, grantedAt: t0 + 104_000 });
  items.push({ name: "ts_note_revisions_granted", revisions: [r0.upload, r1.upload, r2.upload], wraps: null, grants: [grant], blob: null, expect: { h: [hex(r0.h), hex(r1.h), hex(r2.h)], root_h: hex(r0.h), payload: hex(n2), readers: ["therapist", "supervisor", "client", "prk"] } });
  r0.cek.drop();

  const meta = { name: "worksheet.txt", mime: "text/plain", size: 3000 };
  const fileBody = concat(fileMetaPrefix(meta), pattern(meta.size));
  const sealer = await sealStreamItem({ ...base, type: "file", author: therapist, recipients: [recipient("therapist"), recipient("client"), prk], createdAt: t0 + 105_000 }, fileBody.length);
  const blob = await drain(fileBody, sealer.stream);
  const fileUp = await sealer.finish(newUuidV7());
  items.push({ name: "ts_file_stream", revisions: [fileUp], wraps: null, grants: [], blob: hex(blob), expect: { h: [hex(sealer.h)], root_h: hex(sealer.h), payload: hex(fileBody), readers: ["therapist", "client", "prk"] } });
  sealer.cek.drop();

  // Streams with random salt and nonce prefix (Tink must decrypt them too).
  const streams: J[] = [];
  for (const size of [0, 1, 4096, 1048521]) {
    const cek = randomBytes(32);
    const aad = randomBytes(32);
    const ct = await drain(pattern(size), encryptStream(cek, aad));
    streams.push({ size, cek: hex(cek), aad: hex(aad), ct_len: ct.length, ct_b64url: b64url(ct) });
  }

  // Password wrap (small parameters, staff with the vector Secret Key) and bundle.
  const pwCase = arr(obj(V, "pw_wrap"), "cases")[0] ?? {};
  const kdf = checkKdfParams(asJ(pwCase.kdf) as { alg: string; m: number; t: number; p: number });
  const uk = randomBytes(32);
  const pw = await derivePasswordKeys(str(pwCase, "password"), fh(str(pwCase, "salt")), kdf, fh(str(pwCase, "secret_key")));
  const pwWrap = await sealPwWrap(pw.kek, uk, str(pwCase, "user_id"), fh(str(pwCase, "salt")), kdf, 2);

  const client = user("client");
  const ukKey = await importHkdfKey(uk);
  const kb = await bundleKey(ukKey, str(client, "user_id"));
  const aikPkcs8 = seedToPkcs8(fh(str(client, "aik_seed")), "ed25519");
  const aekPkcs8 = seedToPkcs8(fh(str(client, "aek_seed")), "x25519");
  const bundle = {
    aik: await aeadSeal(kb, aikPkcs8, bundleAad(str(client, "user_id"), "aik", fh(str(client, "aik_pub")), 1)),
    aek: await aeadSeal(kb, aekPkcs8, bundleAad(str(client, "user_id"), "aek", fh(str(client, "aek_pub")), 1)),
  };
  const clientAik = await key(str(client, "aik_seed"), "ed25519");

  // Wraps.
  const dv = obj(V, "dev_wrap");
  const devWrap = await sealDevWrap(fh(str(dv, "dk_enc_pub")), str(dv, "user_id"), str(dv, "device_id"), uk);
  const escrow = await sealRecEscrow(fh(str(world, "prk_pub")), practiceId, str(client, "user_id"), fh(str(client, "aek_pub")), aekPkcs8);
  const prskPkcs8 = seedToPkcs8(fh(str(world, "prsk_seed")), "ed25519");
  const prskWrap = await sealPrskWrap(fh(str(user("owner"), "aek_pub")), practiceId, str(user("owner"), "user_id"), fh(str(world, "prsk_pub")), prskPkcs8);
  const rec = obj(V, "recovery");
  const transfer = await sealRecoveryTransfer(fh(str(rec, "t_pub")), practiceId, str(client, "user_id"), fh(str(client, "aek_pub")), aekPkcs8);

  // Device list chain signed by the client's AIK (device keys from qr1.json's device_seeds).
  const seeds = obj(obj(V, "device_list"), "device_seeds");
  const dev = async (name: string, added: number, revoked = 0): Promise<{ device_id: string; dk_sig_pub: string; dk_enc_pub: string; added_at: number; revoked_at: number; id: string }> => {
    const s = obj(seeds, name);
    const id = newUuidV7();
    return { device_id: id, id, dk_sig_pub: b64url((await key(str(s, "sig"), "ed25519")).pub), dk_enc_pub: b64url((await key(str(s, "enc"), "x25519")).pub), added_at: added, revoked_at: revoked };
  };
  const strip = ({ id: _id, ...e }: Awaited<ReturnType<typeof dev>>): Omit<Awaited<ReturnType<typeof dev>>, "id"> => e;
  const phone = await dev("phone", t0 + 200_000);
  const laptop = await dev("laptop", t0 + 201_000);
  const aikId = b64url(await keyId("ed25519", clientAik.pub));
  const l1 = await signDeviceList(clientAik.pair.privateKey, { user_id: str(client, "user_id"), aik_id: aikId, seq: 1, prev_hash: GENESIS_PREV_HASH, created_at: t0 + 200_000, entries: [strip(phone)] });
  const l2 = await signDeviceList(clientAik.pair.privateKey, { user_id: str(client, "user_id"), aik_id: aikId, seq: 2, prev_hash: b64url(await deviceListHash(l1)), created_at: t0 + 201_000, entries: [strip({ ...phone, revoked_at: t0 + 201_000 }), strip(laptop)] });

  // WebRTC statement by the laptop's DK_sig.
  const laptopSig = await key(str(obj(seeds, "laptop"), "sig"), "ed25519");
  const fp = randomBytes(32);
  const callId = newUuidV7();
  const statement = await signFingerprint(laptopSig.pair.privateKey, { callId, role: "offerer", userId: str(client, "user_id"), deviceId: laptop.id, fingerprint: fp });
  const fpHex = Array.from(fp, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");

  // A client certificate issued by the therapist (member issuer), and an aek_bind.
  const cert = await issueMemberCert(therapist.aik.privateKey, {
    practice_id: practiceId,
    user_id: str(client, "user_id"),
    role: "client",
    aik_pub: b64url(clientAik.pub),
    valid_from: t0 + 300_000,
    reason: "rotated",
    issuer_kind: "member",
    issuer_key_id: b64url(await keyId("ed25519", therapist.aikPub)),
  });
  const bind = await aekBindEnvelope(clientAik.pair.privateKey, str(client, "user_id"), fh(str(client, "aek_pub")), 2, t0 + 300_000);

  const out = {
    suite: "qr1",
    format: 1,
    generator: "web/scripts/make-ts-fixtures.ts (TypeScript, WebCrypto + @hpke/core, Node " + process.versions.node + ")",
    keys: "the world keys of qr1.json (seeds documented there); every seal, nonce and signature here is random",
    conventions: "as qr1.json: raw bytes lowercase hex, protocol envelopes protocol JSON (base64url inside); see README-ts-sealed.md",
    item: { cases: items },
    stream: { segment_size: 1048576, plaintext: "pattern: byte[i] = i mod 251", cases: streams },
    pw_wrap: { password: str(pwCase, "password"), secret_key: str(pwCase, "secret_key"), user_id: str(pwCase, "user_id"), salt: str(pwCase, "salt"), kdf, ver: 2, uk: hex(uk), pw_wrap: hex(pwWrap) },
    bundle: { uk: hex(uk), envelope: bundleEnvelope(str(client, "user_id"), 1, fh(str(client, "aik_pub")), fh(str(client, "aek_pub")), bundle), aik_pkcs8: hex(aikPkcs8), aek_pkcs8: hex(aekPkcs8) },
    aek_bind: { aik_pub: str(client, "aik_pub"), envelope: bind },
    dev_wrap: { user_id: str(dv, "user_id"), device_id: str(dv, "device_id"), dk_enc_seed: str(dv, "dk_enc_seed"), uk: hex(uk), dev_wrap: hex(devWrap) },
    rec_escrow: { practice_id: practiceId, user_id: str(client, "user_id"), prk_seed: str(world, "prk_seed"), aek_pkcs8: hex(aekPkcs8), escrow: hex(escrow) },
    prsk_wrap: { practice_id: practiceId, admin_user_id: str(user("owner"), "user_id"), admin_aek_seed: str(user("owner"), "aek_seed"), prsk_pub: str(world, "prsk_pub"), wrap: hex(prskWrap) },
    recovery: { practice_id: practiceId, user_id: str(client, "user_id"), t_seed: str(rec, "t_seed"), aek_pkcs8: hex(aekPkcs8), transfer: hex(transfer) },
    device_list: { user_id: str(client, "user_id"), aik_pub: str(client, "aik_pub"), versions: [l1, l2] },
    member_cert: { cert, issuer_cert_user: "therapist" },
    webrtc_fp: { statement, device_list: l2, sdp: `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\na=fingerprint:sha-256 ${fpHex}\r\n`, call_id: callId, role: "offerer", peer_user_id: str(client, "user_id") },
  };
  writeFileSync(`${root}ts-sealed.json`, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(`wrote ${root}ts-sealed.json\n`);
}

await main();
