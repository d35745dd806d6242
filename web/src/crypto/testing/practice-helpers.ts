/** Re-exports for the suites, plus a helper that builds PKCS#8 from a seed (tests only). */
import { seedToPkcs8 } from "../primitives";
export * from "../practice";
export function seedPkcs8ForTest(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  return seedToPkcs8(seed, "ed25519");
}
