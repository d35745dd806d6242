/**
 * Test fixtures shared by the Node and Chromium suites (not part of the public surface): a
 * practice with PRK/PRSK and a few certified users, built through the library's own API.
 */
import { b64url, newUuidV7 } from "../encoding";
import { createAccountKeys, type SealedAccount } from "../account";
import { generateKeyPair, keyId } from "../primitives";
import { Directory, issueMemberCert, practiceCeremony, type Ceremony, type MemberCert, type Role } from "../practice";
import { Pins, directoryResolver, type AuthorResolver, type OpenContext, type RecipientKey } from "../items";
import { fail } from "../errors";

export interface TestUser {
  readonly userId: string;
  readonly role: Role;
  readonly sealed: SealedAccount;
  readonly cert: MemberCert;
}

export interface World {
  readonly practiceId: string;
  readonly practice: Ceremony;
  readonly users: Record<string, TestUser>;
  readonly directory: Directory;
  readonly resolve: AuthorResolver;
  recipient(name: string): RecipientKey;
  prkRecipient(): RecipientKey;
  readerCtx(name: string, extra?: Partial<OpenContext>): OpenContext;
  prkCtx(extra?: Partial<OpenContext>): OpenContext;
}

export async function makeWorld(names: Record<string, Role> = { alice: "therapist", bob: "client", carol: "therapist" }): Promise<World> {
  const practiceId = newUuidV7();
  const practice = await practiceCeremony();
  const prskKid = b64url(await keyId("ed25519", practice.prsk.pub));
  const users: Record<string, TestUser> = {};
  for (const [name, role] of Object.entries(names)) {
    const userId = newUuidV7();
    const sealed = await createAccountKeys({ userId, practiceId, prkPub: practice.prk.pub, createdAt: 1_700_000_000_000 });
    const cert = await issueMemberCert(practice.prsk.pair.privateKey, {
      practice_id: practiceId,
      user_id: userId,
      role,
      aik_pub: b64url(sealed.account.aikPub),
      valid_from: 1_600_000_000_000,
      reason: "enrolled",
      issuer_kind: "prsk",
      issuer_key_id: prskKid,
    });
    users[name] = { userId, role, sealed, cert };
  }
  const directory = new Directory(practiceId, practice.prsk.pub, Object.values(users).map((u) => u.cert));
  const resolve: AuthorResolver = directoryResolver(directory, new Pins());
  const get = (name: string): TestUser => users[name] ?? fail("E_SCHEMA", `no user ${name}`);
  const world: World = {
    practiceId,
    practice,
    users,
    directory,
    resolve,
    recipient: (name) => ({ kind: "user", id: get(name).userId, pub: get(name).sealed.account.aekPub }),
    prkRecipient: () => ({ kind: "prk", id: practiceId, pub: practice.prk.pub }),
    readerCtx: (name, extra = {}) => ({
      practiceId,
      resolveAuthor: resolve,
      reader: { kind: "user", id: get(name).userId, keyPair: get(name).sealed.account.aek, pub: get(name).sealed.account.aekPub },
      ...extra,
    }),
    prkCtx: (extra = {}) => ({
      practiceId,
      resolveAuthor: resolve,
      reader: { kind: "prk", id: practiceId, keyPair: practice.prk.pair, pub: practice.prk.pub },
      ...extra,
    }),
  };
  return world;
}

export function author(w: World, name: string): { userId: string; aik: CryptoKeyPair; aikPub: Uint8Array } {
  const u = w.users[name] ?? fail("E_SCHEMA", `no user ${name}`);
  return { userId: u.userId, aik: u.sealed.account.aik, aikPub: u.sealed.account.aikPub };
}

export async function outsider(): Promise<{ keyPair: CryptoKeyPair; pub: Uint8Array }> {
  const kp = await generateKeyPair("x25519");
  return { keyPair: kp.pair, pub: kp.pub };
}

/** Expects a promise to reject with a `CryptoError` of `code`. */
export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof Error && "code" in e && typeof e.code === "string") return e.code;
    return `non-crypto error: ${String(e)}`;
  }
  return "no error";
}
