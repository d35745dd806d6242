import { describe, expect, it } from "vitest";
import { b64url } from "../crypto";
import { makeWorld } from "../crypto/testing/world";
import { directorySchema, pendingCertSchema } from "./directory";
import { invitableRoles } from "./invitations-admin";
import { recoveryStatusSchema } from "./recovery";

describe("directory answers", () => {
  it("accept certificates in the protocol's exact shape", async () => {
    const w = await makeWorld({ alice: "therapist" });
    const alice = w.users.alice;
    if (alice === undefined) throw new Error("no alice");
    const entry = {
      user_id: alice.userId,
      display_name: "Dr Rivera",
      role: "therapist",
      removed: false,
      aik_pub: b64url(alice.sealed.account.aikPub),
      certs: [alice.cert],
      revocations: [],
      aek_binds: [],
      device_lists: [],
    };
    const parsed = directorySchema.parse({ entries: [entry], issuers: [] });
    expect(parsed.entries[0]?.certs[0]).toEqual(alice.cert);
  });

  it("refuse a certificate with an extra field or a wrong suite, and unknown keys", async () => {
    const w = await makeWorld({ alice: "therapist" });
    const cert = w.users.alice?.cert;
    expect(directorySchema.safeParse({ entries: [], issuers: [{ ...cert, extra: 1 }] }).success).toBe(false);
    expect(directorySchema.safeParse({ entries: [], issuers: [{ ...cert, suite: "qr9" }] }).success).toBe(false);
    expect(directorySchema.safeParse({ entries: [], issuers: [], more: true }).success).toBe(false);
  });

  it("checks pending certificates and recovery status closely", () => {
    const pending = {
      user_id: "01890a5d-ac96-774b-bcce-b302099a8057",
      display_name: "Sam",
      role: "client",
      aik_pub: "x",
      reason: "recovered",
      previous_aik_id: null,
      since: "2026-05-03T10:00:00Z",
    };
    expect(pendingCertSchema.safeParse(pending).success).toBe(true);
    expect(pendingCertSchema.safeParse({ ...pending, reason: "rotated" }).success).toBe(false);
    expect(recoveryStatusSchema.safeParse({ id: pending.user_id, status: "waiting", transfer: null }).success).toBe(true);
    expect(recoveryStatusSchema.safeParse({ id: pending.user_id, status: "done", transfer: null }).success).toBe(false);
  });

  it("knows who may invite whom", () => {
    expect(invitableRoles("owner")).toEqual(["admin", "therapist"]);
    expect(invitableRoles("admin")).toEqual(["therapist"]);
    expect(invitableRoles("therapist")).toEqual(["client"]);
    expect(invitableRoles("client")).toEqual([]);
  });
});
