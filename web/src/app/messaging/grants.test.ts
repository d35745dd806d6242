import { afterEach, describe, expect, it, vi } from "vitest";
import { aekBindEnvelope, b64url, newUuidV7, openItem, sealItem, type Grant } from "../../crypto";
import { author, makeWorld, type World } from "../../crypto/testing/world";
import type { KeySession } from "../keys/types";
import { openConversation } from "./conversation";
import { decodeMessage, encodeMessage } from "./payload";
import type { StoredItem } from "./types";

async function entry(w: World, name: string, displayName: string) {
  const u = w.users[name];
  if (u === undefined) throw new Error(name);
  const bind = await aekBindEnvelope(u.sealed.account.aik.privateKey, u.userId, u.sealed.account.aekPub, 1, 1_700_000_000_000);
  return {
    user_id: u.userId,
    display_name: displayName,
    role: u.role,
    removed: false,
    aik_pub: b64url(u.sealed.account.aikPub),
    certs: [u.cert],
    revocations: [],
    aek_binds: [bind],
    device_lists: [],
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("grants for a later care-team member (§7.9)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("the client's browser grants Carol the earlier message, and she can open it", async () => {
    const w = await makeWorld({ alice: "therapist", bob: "client", carol: "therapist" });
    const [alice, bob, carol] = [w.users.alice, w.users.bob, w.users.carol];
    if (alice === undefined || bob === undefined || carol === undefined) throw new Error("world");
    const clientId = newUuidV7();
    const sealed = await sealItem(
      {
        practiceId: w.practiceId,
        chartId: clientId,
        type: "message",
        author: author(w, "alice"),
        recipients: [w.recipient("alice"), w.recipient("bob"), w.prkRecipient()],
        createdAt: 1_700_000_000_500,
      },
      encodeMessage("before Carol joined"),
    );
    sealed.cek.drop();
    const stored: StoredItem = { seq: 1, received_at: 1, item: sealed.upload, grants: [] };

    const person = (u: typeof alice, name: string) => ({ user_id: u.userId, display_name: name, role: u.role });
    const info = {
      client_id: clientId,
      practice_id: w.practiceId,
      client: person(bob, "Sam"),
      team: [person(alice, "Dr Rivera"), person(carol, "Dr Chen")],
      last_seq: 1,
      read_seq: 1,
      crisis_resources: "",
      attachment_max_bytes: 100,
    };
    const entries = [await entry(w, "alice", "Dr Rivera"), await entry(w, "bob", "Sam"), await entry(w, "carol", "Dr Chen")];
    const posted: Grant[][] = [];
    vi.stubGlobal("document", { cookie: "" });
    vi.stubGlobal("fetch", (url: string, init?: RequestInit) => {
      if (url === `/api/conversations/${clientId}`) return Promise.resolve(json(info));
      if (url.startsWith(`/api/practices/${w.practiceId}/directory`)) return Promise.resolve(json({ entries, issuers: [] }));
      if (url === `/api/conversations/${clientId}/grants/needed`) {
        return Promise.resolve(json({ needed: [{ seq: 1, item_id: sealed.upload.hdr.item_id, user_id: carol.userId }] }));
      }
      if (url === `/api/conversations/${clientId}/grants` && init?.method === "POST") {
        posted.push((JSON.parse(init.body as string) as { grants: Grant[] }).grants);
        return Promise.resolve(json({ stored: 1 }, 201));
      }
      return Promise.resolve(json({ error: { code: "not_found", message: "no" } }, 404));
    });

    let record = { userId: bob.userId, deviceId: newUuidV7(), practiceId: w.practiceId, peers: {} };
    const keystore = {
      getDevice: () => Promise.resolve(record),
      updatePins: (_u: string, f: (r: typeof record) => typeof record) => {
        record = f(record);
        return Promise.resolve(record);
      },
    };
    const session = {
      userId: bob.userId,
      practiceId: w.practiceId,
      role: "client",
      deviceId: record.deviceId,
      account: bob.sealed.account,
      keystore,
      prskPub: w.practice.prsk.pub,
      prsk: null,
    } as unknown as KeySession;

    const opened = await openConversation(session, clientId);
    expect(opened.peers.map((p) => p.state.kind)).toEqual(["pinned", "pinned"]);
    expect(await opened.grantMissing([stored])).toBe(1);
    const grants = posted[0] ?? [];
    expect(grants).toHaveLength(1);
    expect(grants[0]?.grantee_user_id).toBe(carol.userId);
    expect(grants[0]?.granter_user_id).toBe(bob.userId);

    // Carol opens the item through the grant; without it she could not.
    const forCarol = await openItem(sealed.upload, w.readerCtx("carol", { grants }));
    expect(decodeMessage(forCarol.payload)).toBe("before Carol joined");
    forCarol.cek.drop();
    await expect(openItem(sealed.upload, w.readerCtx("carol"))).rejects.toMatchObject({ code: "E_NOT_RECIPIENT" });
  });
});
