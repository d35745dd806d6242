import { describe, expect, it } from "vitest";
import {
  Directory,
  b64url,
  fromB64url,
  formatSeed,
  generateKeyPair,
  keyId,
  openRecoveryTransfer,
  recoveryRecordMessage,
  sheetQrPayload,
  type Keystore,
} from "../../crypto";
import { makeWorld, type TestUser, type World } from "../../crypto/testing/world";
import type { PendingCert } from "../../api/directory";
import type { KeySession } from "../keys/types";
import { canConfirm, confirmPending, memberCode, readSheetSeed, recoveryTransfer } from "./issue";

function user(w: World, name: string): TestUser {
  const u = w.users[name];
  if (u === undefined) throw new Error(`no ${name}`);
  return u;
}

function sessionOf(w: World, u: TestUser, withPrsk: boolean): KeySession {
  return {
    userId: u.userId,
    practiceId: w.practiceId,
    role: u.role,
    deviceId: "00000000-0000-7000-8000-000000000000",
    account: u.sealed.account,
    // Not used by these functions (no pins are read or written).
    keystore: undefined as unknown as Keystore,
    prskPub: w.practice.prsk.pub,
    prsk: withPrsk ? w.practice.prsk : null,
  };
}

function pendingFor(u: TestUser, extra: Partial<PendingCert> = {}): PendingCert {
  return {
    user_id: u.userId,
    display_name: "Someone",
    role: u.role,
    aik_pub: b64url(u.sealed.account.aikPub),
    reason: "enrolled",
    previous_aik_id: null,
    since: "2026-05-03T10:00:00Z",
    ...extra,
  };
}

describe("confirmPending", () => {
  it("an owner signs with the PRSK, any role", async () => {
    const w = await makeWorld({ owner: "owner", carol: "therapist" });
    const s = sessionOf(w, user(w, "owner"), true);
    const { cert, revocation } = await confirmPending(s, pendingFor(user(w, "carol")));
    expect(cert.issuer_kind).toBe("prsk");
    expect(revocation).toBeNull();
    const dir = new Directory(w.practiceId, w.practice.prsk.pub, [cert]);
    await expect(dir.verifyCert(cert, Date.now())).resolves.toBeUndefined();
  });

  it("a therapist signs a client's certificate with their own AIK", async () => {
    const w = await makeWorld({ alice: "therapist", bob: "client" });
    const alice = user(w, "alice");
    const s = sessionOf(w, alice, false);
    expect(canConfirm(s, pendingFor(user(w, "bob")))).toBe(true);
    const { cert } = await confirmPending(s, pendingFor(user(w, "bob")));
    expect(cert).toMatchObject({ issuer_kind: "member", issuer_key_id: b64url(alice.sealed.account.aikId) });
    const dir = new Directory(w.practiceId, w.practice.prsk.pub, [alice.cert, cert]);
    await expect(dir.verifyCert(cert, Date.now())).resolves.toBeUndefined();
  });

  it("a therapist cannot confirm staff", async () => {
    const w = await makeWorld({ alice: "therapist", carol: "therapist" });
    const s = sessionOf(w, user(w, "alice"), false);
    expect(canConfirm(s, pendingFor(user(w, "carol")))).toBe(false);
    await expect(confirmPending(s, pendingFor(user(w, "carol")))).rejects.toMatchObject({ code: "E_CERT" });
  });

  it("after a recovery, also revokes the previous AIK", async () => {
    const w = await makeWorld({ owner: "owner", bob: "client" });
    const bob = user(w, "bob");
    const s = sessionOf(w, user(w, "owner"), true);
    const old = b64url(user(w, "owner").sealed.account.aikId);
    const { cert, revocation } = await confirmPending(s, pendingFor(bob, { reason: "recovered", previous_aik_id: old }));
    expect(cert.reason).toBe("recovered");
    expect(revocation).toMatchObject({ user_id: bob.userId, aik_id: old, reason: "recovered" });
  });
});

describe("recoveryTransfer", () => {
  it("opens the escrow with the sheet's PRK and seals the AEK to T", async () => {
    const w = await makeWorld({ owner: "admin", bob: "client" });
    const bob = user(w, "bob");
    const admin = user(w, "owner");
    const t = await generateKeyPair("x25519");
    const request = {
      id: "00000000-0000-7000-8000-000000000001",
      user_id: bob.userId,
      display_name: "Bob",
      role: "client" as const,
      t_pub: b64url(t.pub),
      created_at: "2026-05-03T10:00:00Z",
      aek_pub: b64url(bob.sealed.account.aekPub),
      rec_escrow: { prk_id: b64url(await keyId("x25519", w.practice.prk.pub)), ct: b64url(bob.sealed.recEscrow) },
    };
    const seed = readSheetSeed(formatSeed(w.practice.prkSeed), w.practiceId);
    const upload = await recoveryTransfer(sessionOf(w, admin, true), request, seed, w.practice.prk.pub, 1_700_000_000_000);
    expect(seed.every((b) => b === 0)).toBe(true); // wiped
    const pkcs8 = await openRecoveryTransfer(t, w.practiceId, bob.userId, bob.sealed.account.aekPub, fromB64url(upload.ct));
    expect(pkcs8.length).toBeGreaterThan(32);
    const msg = await recoveryRecordMessage(w.practiceId, bob.userId, t.pub, bob.sealed.account.aekPub, upload.at, "browser");
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, admin.sealed.account.aik.publicKey, fromB64url(upload.sig), msg);
    expect(ok).toBe(true);
  });

  it("refuses a seed that is not the practice's", async () => {
    const w = await makeWorld({ owner: "admin", bob: "client" });
    const other = await makeWorld({ x: "client" });
    const bob = user(w, "bob");
    const t = await generateKeyPair("x25519");
    const request = {
      id: "00000000-0000-7000-8000-000000000001",
      user_id: bob.userId,
      display_name: "Bob",
      role: "client" as const,
      t_pub: b64url(t.pub),
      created_at: "2026-05-03T10:00:00Z",
      aek_pub: b64url(bob.sealed.account.aekPub),
      rec_escrow: { prk_id: "x", ct: b64url(bob.sealed.recEscrow) },
    };
    const seed = readSheetSeed(sheetQrPayload(w.practiceId, other.practice.prkSeed, other.practice.prskSeed), w.practiceId);
    await expect(recoveryTransfer(sessionOf(w, user(w, "owner"), true), request, seed, w.practice.prk.pub)).rejects.toMatchObject({ code: "E_CERT" });
  });

  it("refuses a sheet of another practice", async () => {
    const w = await makeWorld({ x: "client" });
    expect(() => readSheetSeed(sheetQrPayload(w.practiceId, w.practice.prkSeed, w.practice.prskSeed), "00000000-0000-7000-8000-000000000009")).toThrow();
  });
});

describe("memberCode", () => {
  it("is 30 digits", async () => {
    const w = await makeWorld({ x: "client" });
    expect(await memberCode(user(w, "x").userId, user(w, "x").sealed.account.aikPub)).toMatch(/^\d{30}$/);
  });
});
