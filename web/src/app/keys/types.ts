// What an unlocked session holds in memory (crypto-protocol §4.3: account keys live per tab,
// never at rest). Pages that need keys read it with `useKeySession()`; it is null while the
// account is locked, and becomes null again on lock, sign-out, idle logoff and quick exit.
import type { KeyPairWithPub, Keystore, Role, UnlockedAccount } from "../../crypto";

export interface KeySession {
  readonly userId: string;
  readonly practiceId: string;
  readonly role: Role;
  /** This browser profile's device (§5.1), from the keystore. */
  readonly deviceId: string;
  readonly account: UnlockedAccount;
  readonly keystore: Keystore;
  /** The pinned PRSK public key of the practice (§6.4). */
  readonly prskPub: Uint8Array;
  /** Owners and admins: the PRSK opened from their prsk_wrap, to issue certificates. */
  readonly prsk: KeyPairWithPub | null;
}
