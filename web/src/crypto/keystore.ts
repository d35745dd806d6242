/**
 * The device keystore (spec §5.1, §3.3, §6.4): IndexedDB through `idb`, holding per account on
 * this browser profile the non-extractable device key *pairs* (DK_sig, DK_enc) by structured
 * clone, the device id, the staff Secret Key, and pins (PRSK, peers' AIKs and device-list /
 * config heads). Nothing here is plaintext content, and no account key (UK, AIK, AEK) is ever
 * stored: those live in memory only.
 *
 * The SK is stored raw (the spec says so): it is useless without the password, and stays on
 * this device only.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { fail } from "./errors";
import type { DeviceKeys } from "./devices";
import type { PublicKeyBytes } from "./types";

export interface PeerPin {
  readonly userId: string;
  readonly aikPub: string;
  readonly deviceListSeq: number;
  readonly deviceListHash: string;
  readonly verified: boolean;
}

export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly dkSig: CryptoKeyPair;
  readonly dkSigPub: PublicKeyBytes;
  readonly dkEnc: CryptoKeyPair;
  readonly dkEncPub: PublicKeyBytes;
  /** Staff only: the raw 16-byte Secret Key. */
  readonly secretKey?: Uint8Array;
  readonly practiceId: string;
  /** The pinned PRSK public key (base64url) and the config head. */
  readonly prskPub?: string;
  readonly configHead?: { seq: number; hash: string };
  readonly peers: Readonly<Record<string, PeerPin>>;
}

interface KeystoreSchema extends DBSchema {
  devices: { key: string; value: DeviceRecord };
}

export const KEYSTORE_DB = "quietroom-keys";
const VERSION = 1;

export class Keystore {
  private constructor(private readonly db: IDBPDatabase<KeystoreSchema>) {}

  static async open(name: string = KEYSTORE_DB): Promise<Keystore> {
    const db = await openDB<KeystoreSchema>(name, VERSION, {
      upgrade(d) {
        d.createObjectStore("devices", { keyPath: "userId" });
      },
    });
    return new Keystore(db);
  }

  /** Stores this profile's device for a user. Refuses extractable private keys. */
  async putDevice(record: DeviceRecord): Promise<void> {
    if (record.dkSig.privateKey.extractable || record.dkEnc.privateKey.extractable) {
      fail("E_SCHEMA", "device private keys must be non-extractable");
    }
    await this.db.put("devices", record);
  }

  async getDevice(userId: string): Promise<DeviceRecord | undefined> {
    return this.db.get("devices", userId);
  }

  async listUsers(): Promise<string[]> {
    return this.db.getAllKeys("devices");
  }

  /** "Forget this device": removes the keys (the caller also revokes it in the device list). */
  async deleteDevice(userId: string): Promise<void> {
    await this.db.delete("devices", userId);
  }

  async updatePins(userId: string, update: (r: DeviceRecord) => DeviceRecord): Promise<DeviceRecord> {
    const tx = this.db.transaction("devices", "readwrite");
    const cur = await tx.store.get(userId);
    if (cur === undefined) return fail("E_SCHEMA", "no device for this user");
    const next = update(cur);
    if (next.userId !== userId) fail("E_SCHEMA", "user id cannot change");
    await tx.store.put(next);
    await tx.done;
    return next;
  }

  close(): void {
    this.db.close();
  }
}

/** Builds a record from freshly generated device keys. */
export function deviceRecord(
  userId: string,
  deviceId: string,
  practiceId: string,
  keys: DeviceKeys,
  extra: { secretKey?: Uint8Array; prskPub?: string } = {},
): DeviceRecord {
  return {
    userId,
    deviceId,
    practiceId,
    dkSig: keys.dkSig.pair,
    dkSigPub: keys.dkSig.pub,
    dkEnc: keys.dkEnc.pair,
    dkEncPub: keys.dkEnc.pub,
    ...(extra.secretKey === undefined ? {} : { secretKey: extra.secretKey }),
    ...(extra.prskPub === undefined ? {} : { prskPub: extra.prskPub }),
    peers: {},
  };
}
