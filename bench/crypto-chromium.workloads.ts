/**
 * Shared workloads for the crypto benchmarks (bench/crypto-node.ts and the Chromium page of
 * bench/crypto-chromium.ts; named crypto-chromium.* only to stay inside the bench files of issue 3).
 * Runs in Node 20 and in Chromium. Figures are printed, never asserted.
 */
import {
  DEFAULT_KDF,
  Directory,
  Pins,
  asPlaintext,
  createAccountKeys,
  derivePasswordKeys,
  directoryResolver,
  encryptStream,
  issueMemberCert,
  keyId,
  b64url,
  newUuidV7,
  openItem,
  practiceCeremony,
  sealItem,
  sealStreamItem,
  sha256Stream,
  type OpenContext,
  type RecipientKey,
  type SealedAccount,
} from "../web/src/crypto/index";

export interface Timing {
  readonly name: string;
  readonly n: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

async function time(name: string, n: number, warmup: number, fn: () => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  const mean = t.reduce((a, b) => a + b, 0) / n;
  return { name, n, meanMs: mean, p50Ms: t[Math.floor(n / 2)] ?? 0, p95Ms: t[Math.floor(n * 0.95)] ?? 0 };
}

/** Seal and open of a 1 KiB message item to 3 user recipients plus the PRK (always wrapped). */
export async function itemBench(n = 200): Promise<Timing[]> {
  const practiceId = newUuidV7();
  const practice = await practiceCeremony();
  const prskKid = b64url(await keyId("ed25519", practice.prsk.pub));
  const users: { id: string; sealed: SealedAccount }[] = [];
  const certs = [];
  for (let i = 0; i < 3; i++) {
    const id = newUuidV7();
    const sealed = await createAccountKeys({ userId: id, practiceId, prkPub: practice.prk.pub, createdAt: 1 });
    users.push({ id, sealed });
    certs.push(
      await issueMemberCert(practice.prsk.pair.privateKey, {
        practice_id: practiceId, user_id: id, role: i === 0 ? "therapist" : "client", aik_pub: b64url(sealed.account.aikPub),
        valid_from: 0, reason: "enrolled", issuer_kind: "prsk", issuer_key_id: prskKid,
      }),
    );
  }
  const author = users[0];
  if (author === undefined) throw new Error("no author");
  const recipients: RecipientKey[] = [
    ...users.map((u) => ({ kind: "user" as const, id: u.id, pub: u.sealed.account.aekPub })),
    { kind: "prk", id: practiceId, pub: practice.prk.pub },
  ];
  const payload = asPlaintext(new TextEncoder().encode(JSON.stringify({ text: "x".repeat(1000) }).slice(0, 1024)) as Uint8Array<ArrayBuffer>);
  const opts = { practiceId, type: "message", author: { userId: author.id, aik: author.sealed.account.aik, aikPub: author.sealed.account.aikPub }, recipients, createdAt: 1000 };
  const sample = await sealItem(opts, payload);
  const reader = users[1];
  if (reader === undefined) throw new Error("no reader");
  const directory = new Directory(practiceId, practice.prsk.pub, certs);
  const ctx: OpenContext = {
    practiceId,
    resolveAuthor: directoryResolver(directory, new Pins()),
    reader: { kind: "user", id: reader.id, keyPair: reader.sealed.account.aek, pub: reader.sealed.account.aekPub },
  };
  return [
    await time("seal 1 KiB item, 3 users + PRK (4 HPKE wraps, Ed25519 sign)", n, 20, async () => {
      const s = await sealItem(opts, payload);
      s.cek.drop();
    }),
    await time("open 1 KiB item (cert chain, sig, HPKE, commit, AES-GCM)", n, 20, async () => {
      const o = await openItem(sample.upload, ctx);
      o.cek.drop();
    }),
  ];
}

export async function argonBench(n = 3): Promise<Timing> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return time(`Argon2id m=${DEFAULT_KDF.m} KiB t=${DEFAULT_KDF.t} p=1 (+HKDF authKey/KEK)`, n, 1, () => derivePasswordKeys("correct horse battery staple", salt, DEFAULT_KDF));
}

/** A ReadableStream of `total` bytes in 1 MiB chunks, from one reused buffer (no file in memory). */
export function patternSource(total: number, chunk = 1048576, onEvery16MiB?: () => void): ReadableStream<Uint8Array> {
  const buf = new Uint8Array(chunk);
  for (let i = 0; i < chunk; i++) buf[i] = i % 251;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const n = Math.min(chunk, total - sent);
      if (onEvery16MiB !== undefined && Math.floor(sent / 16777216) !== Math.floor((sent + n) / 16777216)) onEvery16MiB();
      sent += n;
      controller.enqueue(n === chunk ? buf : buf.subarray(0, n));
    },
  }, { highWaterMark: 2 });
}

export async function countSink(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const r = stream.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) return n;
    n += value.length;
  }
}

export interface StreamResult {
  readonly name: string;
  readonly mib: number;
  readonly seconds: number;
  readonly mibPerS: number;
}

/** Raw AES-256-GCM over the same bytes in 1 MiB calls: the ceiling for the streaming code. */
export async function rawAesGcm(totalMiB: number): Promise<StreamResult> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const buf = new Uint8Array(1048576);
  const s = performance.now();
  for (let i = 0; i < totalMiB; i++) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, buf);
  }
  const sec = (performance.now() - s) / 1000;
  return { name: "raw AES-256-GCM, 1 MiB calls", mib: totalMiB, seconds: sec, mibPerS: totalMiB / sec };
}

export async function streamEncrypt(totalMiB: number, probe?: () => void): Promise<StreamResult> {
  const cek = crypto.getRandomValues(new Uint8Array(32));
  const aad = crypto.getRandomValues(new Uint8Array(32));
  const s = performance.now();
  const bytes = await countSink(patternSource(totalMiB * 1048576, 1048576, probe).pipeThrough(encryptStream(cek, aad)));
  const sec = (performance.now() - s) / 1000;
  if (bytes < totalMiB * 1048576) throw new Error("short stream");
  return { name: "encryptStream (Tink AES-GCM-HKDF, 1 MiB segments)", mib: totalMiB, seconds: sec, mibPerS: totalMiB / sec };
}

/** The full file-item path: encrypt + incremental SHA-256 of the blob (@noble/hashes) + sign. */
export async function streamItem(totalMiB: number, probe?: () => void): Promise<StreamResult> {
  const practiceId = newUuidV7();
  const practice = await practiceCeremony();
  const me = newUuidV7();
  const acct = await createAccountKeys({ userId: me, practiceId, prkPub: practice.prk.pub, createdAt: 1 });
  const size = totalMiB * 1048576;
  const s = performance.now();
  const sealer = await sealStreamItem(
    { practiceId, type: "file", author: { userId: me, aik: acct.account.aik, aikPub: acct.account.aikPub }, recipients: [{ kind: "user", id: me, pub: acct.account.aekPub }, { kind: "prk", id: practiceId, pub: practice.prk.pub }], createdAt: 2 },
    size,
  );
  await countSink(patternSource(size, 1048576, probe).pipeThrough(sealer.stream));
  await sealer.finish(newUuidV7());
  const sec = (performance.now() - s) / 1000;
  sealer.cek.drop();
  return { name: "sealStreamItem (encrypt + SHA-256 of blob + sign)", mib: totalMiB, seconds: sec, mibPerS: totalMiB / sec };
}

/** Incremental SHA-256 throughput of the blob hasher (@noble/hashes, as the spec requires). */
export async function hashThroughput(totalMiB: number): Promise<StreamResult[]> {
  const s = performance.now();
  await sha256Stream(patternSource(totalMiB * 1048576));
  const sec = (performance.now() - s) / 1000;
  return [{ name: "SHA-256 incremental over the blob (@noble/hashes)", mib: totalMiB, seconds: sec, mibPerS: totalMiB / sec }];
}

export function formatTiming(t: Timing): string {
  return `${t.name}: mean ${t.meanMs.toFixed(2)} ms, p50 ${t.p50Ms.toFixed(2)} ms, p95 ${t.p95Ms.toFixed(2)} ms (n=${t.n})`;
}

export function formatStream(r: StreamResult): string {
  return `${r.name}: ${r.mib} MiB in ${r.seconds.toFixed(2)} s = ${r.mibPerS.toFixed(0)} MiB/s`;
}
