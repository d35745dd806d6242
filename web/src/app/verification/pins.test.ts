import { describe, expect, it } from "vitest";
import {
  Directory,
  GENESIS_PREV_HASH,
  b64url,
  generateDeviceKeys,
  issueMemberCert,
  keyId,
  newUuidV7,
  signDeviceList,
  signMemberRevocation,
  type DeviceList,
  type PeerPin,
} from "../../crypto";
import { makeWorld, type TestUser, type World } from "../../crypto/testing/world";
import type { DirectoryEntry } from "../../api/directory";
import { changeWarning, directoryFrom, evaluatePeer, failedCheck } from "./pins";

function must<T>(v: T | null | undefined): T {
  if (v === null || v === undefined) throw new Error("missing");
  return v;
}

function user(w: World, name: string): TestUser {
  return must(w.users[name]);
}

async function deviceList(user: TestUser, seq = 1): Promise<DeviceList> {
  const dk = await generateDeviceKeys();
  return signDeviceList(user.sealed.account.aik.privateKey, {
    user_id: user.userId,
    aik_id: b64url(user.sealed.account.aikId),
    seq,
    prev_hash: GENESIS_PREV_HASH,
    created_at: 1_700_000_000_000,
    entries: [{ device_id: newUuidV7(), dk_sig_pub: b64url(dk.dkSig.pub), dk_enc_pub: b64url(dk.dkEnc.pub), added_at: 1_700_000_000_000, revoked_at: 0 }],
  });
}

function entryOf(user: TestUser, lists: DeviceList[] = []): DirectoryEntry {
  return {
    user_id: user.userId,
    display_name: "Dr Rivera",
    role: user.role,
    removed: false,
    aik_pub: b64url(user.sealed.account.aikPub),
    certs: [user.cert],
    revocations: [],
    aek_binds: [],
    device_lists: lists,
  };
}

describe("evaluatePeer", () => {
  it("pins a certified AIK on first sight, with its device-list head", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const { state, pin } = await evaluatePeer(undefined, entryOf(alice, [await deviceList(alice)]), w.directory);
    expect(state).toMatchObject({ kind: "pinned", userId: alice.userId, verified: false });
    expect(pin).toMatchObject({ userId: alice.userId, aikPub: b64url(alice.sealed.account.aikPub), deviceListSeq: 1, verified: false });
  });

  it("keeps the verified flag while the AIK stays the same", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const first = await evaluatePeer(undefined, entryOf(alice), w.directory);
    const again = await evaluatePeer({ ...must(first.pin), verified: true }, entryOf(alice), w.directory);
    expect(again.state).toMatchObject({ kind: "pinned", verified: true });
    expect(again.pin?.verified).toBe(true);
  });

  it("refuses an AIK without a chain to the pinned PRSK", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const stranger = new Directory(w.practiceId, user(w, "bob").sealed.account.aikPub, [alice.cert]);
    const { state, pin } = await evaluatePeer(undefined, entryOf(alice), stranger);
    expect(state).toEqual({ kind: "uncertified", userId: alice.userId, code: "E_CERT" });
    expect(pin).toBeNull();
  });

  it("tells a device list that rolled back (a failed check) from a missing certificate", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const list = await deviceList(alice);
    const ahead = { userId: alice.userId, aikPub: b64url(alice.sealed.account.aikPub), deviceListSeq: 2, deviceListHash: b64url(new Uint8Array(32)), verified: false };
    const { state } = await evaluatePeer(ahead, entryOf(alice, [list]), w.directory);
    expect(state).toEqual({ kind: "uncertified", userId: alice.userId, code: "E_ROLLBACK" });
    expect(failedCheck(state)).toBe("E_ROLLBACK");
    expect(failedCheck({ kind: "uncertified", userId: alice.userId, code: "E_CERT" })).toBeNull();
    expect(failedCheck({ kind: "uncertified", userId: alice.userId, code: null })).toBeNull();
    expect(failedCheck({ kind: "no-keys", userId: alice.userId })).toBeNull();
  });

  it("refuses a revoked AIK", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const revocation = await signMemberRevocation(w.practice.prsk.pair.privateKey, w.practice.prsk.pub, {
      practice_id: w.practiceId,
      user_id: alice.userId,
      aik_id: b64url(alice.sealed.account.aikId),
      revoked_at: 1_650_000_000_000,
      reason: "left",
    });
    const answer = { entries: [{ ...entryOf(alice), revocations: [revocation] }], issuers: [] };
    const { state } = await evaluatePeer(undefined, must(answer.entries[0]), directoryFrom(w.practiceId, w.practice.prsk.pub, answer));
    expect(state.kind).toBe("uncertified");
  });

  it("reports a changed AIK as blocking, without re-pinning", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const bob = user(w, "bob");
    const oldPin: PeerPin = { userId: alice.userId, aikPub: b64url(bob.sealed.account.aikPub), deviceListSeq: 0, deviceListHash: "", verified: true };
    const { state, pin } = await evaluatePeer(oldPin, entryOf(alice), w.directory);
    expect(state).toMatchObject({ kind: "changed", previousAikPub: oldPin.aikPub, wasVerified: true });
    expect(pin).toBeNull();
  });

  it("names the reason and date of the new certificate", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const cert = await issueMemberCert(w.practice.prsk.pair.privateKey, {
      ...alice.cert,
      valid_from: Date.UTC(2026, 4, 3, 12),
      reason: "recovered",
      issuer_key_id: b64url(await keyId("ed25519", w.practice.prsk.pub)),
    });
    expect(changeWarning("Dr Rivera", cert, "en-GB")).toBe("Dr Rivera's security code changed: account recovered by the practice on 3 May 2026.");
  });

  it("says when a member has no keys yet", async () => {
    const w = await makeWorld();
    const { state } = await evaluatePeer(undefined, { ...entryOf(user(w, "bob")), aik_pub: null }, w.directory);
    expect(state.kind).toBe("no-keys");
  });

  it("refuses a device list rolled back below the pin", async () => {
    const w = await makeWorld();
    const alice = user(w, "alice");
    const pin: PeerPin = { userId: alice.userId, aikPub: b64url(alice.sealed.account.aikPub), deviceListSeq: 5, deviceListHash: b64url(new Uint8Array(32)), verified: false };
    const { state } = await evaluatePeer(pin, entryOf(alice, [await deviceList(alice)]), w.directory);
    expect(state).toMatchObject({ kind: "uncertified", code: "E_ROLLBACK" });
  });
});
