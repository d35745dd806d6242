import { describe, expect, it } from "vitest";
import { CryptoError } from "./errors";
import { newUuidV7 } from "./encoding";
import { openPrskWrap, resealPrskWrap, sealPrskWrap } from "./practice";
import { generateKeyPair, generateSealableKeyPair } from "./primitives";

describe("resealPrskWrap", () => {
  it("hands the PRSK from one admin's wrap to another admin's AEK, bound to that admin", async () => {
    const practiceId = newUuidV7();
    const owner = { userId: newUuidV7(), aek: await generateKeyPair("x25519") };
    const admin = { userId: newUuidV7(), aek: await generateKeyPair("x25519") };
    const prsk = await generateSealableKeyPair("ed25519");
    const ownWrap = await sealPrskWrap(owner.aek.pub, practiceId, owner.userId, prsk.pub, prsk.pkcs8);

    const wrap = await resealPrskWrap(
      { aek: owner.aek.pair, aekPub: owner.aek.pub, userId: owner.userId },
      practiceId,
      prsk.pub,
      ownWrap,
      { userId: admin.userId, aekPub: admin.aek.pub },
    );

    const opened = await openPrskWrap(admin.aek.pair, admin.aek.pub, practiceId, admin.userId, prsk.pub, wrap);
    expect(Array.from(opened.pub)).toEqual(Array.from(prsk.pub));
    expect(opened.pair.privateKey.extractable).toBe(false);
    // Bound to the grantee: the owner's identity in the info does not open it.
    await expect(openPrskWrap(admin.aek.pair, admin.aek.pub, practiceId, owner.userId, prsk.pub, wrap)).rejects.toThrow(CryptoError);
  });

  it("refuses a wrap that does not hold the PRSK it claims", async () => {
    const practiceId = newUuidV7();
    const owner = { userId: newUuidV7(), aek: await generateKeyPair("x25519") };
    const other = await generateSealableKeyPair("ed25519");
    const claimed = await generateSealableKeyPair("ed25519");
    const ownWrap = await sealPrskWrap(owner.aek.pub, practiceId, owner.userId, claimed.pub, other.pkcs8);
    await expect(
      resealPrskWrap({ aek: owner.aek.pair, aekPub: owner.aek.pub, userId: owner.userId }, practiceId, claimed.pub, ownWrap, {
        userId: newUuidV7(),
        aekPub: owner.aek.pub,
      }),
    ).rejects.toMatchObject({ code: "E_WRAP" });
  });
});
