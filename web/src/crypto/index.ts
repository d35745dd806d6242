/**
 * Public surface of the Quietroom protocol core (suite `qr1`, docs: shared design
 * crypto-protocol.md). Nothing outside `web/src/crypto` touches keys or turns ciphertext into
 * readable data; features import from here only.
 */
export { CryptoError, ERROR_CODES, isErrorCode, type ErrorCode } from "./errors";
export type {
  AeadCiphertext,
  Bytes,
  HpkeWrap,
  KeyId,
  Plaintext,
  PublicKeyBytes,
  Signature,
  StreamCiphertext,
  Uuid,
} from "./types";
export { asPlaintext } from "./types";
export {
  NIL_UUID,
  b64url,
  checkUuidV7,
  fromB64url,
  isUuidV7,
  labeled,
  newUuidV7,
  pae,
  parseUuid,
  type Label,
} from "./encoding";
export { detectSupport, keyId, generateKeyPair, type KeyAlg, type KeyPairWithPub } from "./primitives";
// The app needs these two: the UK from a wrap becomes a non-extractable HKDF key, and the
// ceremony's PRSK seed becomes the PKCS#8 that the owner's prsk_wrap seals (§6.1).
export { importHkdfKey, seedToPkcs8 } from "./primitives";
export {
  DEFAULT_KDF,
  KDF_BOUNDS,
  checkKdfParams,
  derivePasswordKeys,
  formatSecretKey,
  generateSecretKey,
  parseSecretKey,
  type KdfParams,
  type PasswordKeys,
} from "./password";
export { checkAdvance, type ChainHead } from "./chain";
export { parseStrictJson, type JsonValue } from "./json";
export {
  aekBindEnvelope,
  bundleEnvelope,
  currentAekBind,
  openBundleEnvelope,
  verifyAekBindEnvelope,
  type AekBindEnvelope,
  type BundleEnvelope,
  createAccountKeys,
  localKey,
  openBundle,
  openPwWrap,
  openRecEscrow,
  sealPwWrap,
  signAekBind,
  verifyAekBind,
  type Bundle,
  type SealedAccount,
  type UnlockedAccount,
} from "./account";
export {
  GENESIS_PREV_HASH,
  acceptDeviceLists,
  checkEntryRules,
  activeDevice,
  checkDeviceListSuccessor,
  generateDeviceKeys,
  openDevWrap,
  sealDevWrap,
  signDeviceList,
  verifyDeviceListSignature,
  type DeviceEntry,
  type DeviceKeys,
  type DeviceList,
  type UnsignedDeviceList,
} from "./devices";
export {
  Directory,
  acceptPracticeConfigs,
  formatSeed,
  issueMemberCert,
  loadPracticeKey,
  openPrskWrap,
  openRecoveryTransfer,
  parseSeed,
  parseSheetQrPayload,
  practiceCeremony,
  recoveryRecordMessage,
  sealPrskWrap,
  resealPrskWrap,
  sealRecoveryTransfer,
  sheetQrPayload,
  signDestroy,
  signMemberRevocation,
  signPracticeConfig,
  verifyPracticeConfig,
  type Ceremony,
  type MemberCert,
  type MemberRevocation,
  type PracticeConfig,
  type Role,
} from "./practice";
export { fp30, groupDigits, practiceSecurityCode, recoveryTransferCode, safetyNumber, safetyNumberQrPayload } from "./verification";
export {
  ContentKey,
  ITEM_TYPES,
  Pins,
  directoryResolver,
  verifyRecipient,
  createGrant,
  createRewrap,
  headerHash,
  openItem,
  openStreamItem,
  openStreamItemBytes,
  sealItem,
  sealRevision,
  sealStreamItem,
  sealStreamRevision,
  type AuthorResolver,
  type Grant,
  type ItemHeader,
  type ItemUpload,
  type OpenContext,
  type OpenedItem,
  type OpenedStreamItem,
  type Reader,
  type RecipientKey,
  type Rewrap,
  type SealItemOptions,
  type SealedItem,
  type StreamItemSealer,
} from "./items";
export {
  SEGMENT_SIZE,
  decryptStream,
  encryptStream,
  fileBodySize,
  fileMetaPrefix,
  sha256Stream,
  splitFileMeta,
  streamCiphertextLength,
  type FileMeta,
} from "./stream";
export {
  certificateFingerprint,
  checkRemoteCertificate,
  checkSdpFingerprints,
  signFingerprint,
  verifyFingerprintStatement,
  type CallRole,
  type FingerprintStatement,
} from "./webrtc";
export { Keystore, deviceRecord, type DeviceRecord, type PeerPin } from "./keystore";
export {
  parseAekBind,
  parseBundle,
  parseDeviceList,
  parseWraps,
  parseFingerprintStatement,
  parseGrant,
  parseItemUpload,
  parseMemberCert,
  parseMemberRevocation,
  parsePracticeConfig,
  parseRewrap,
} from "./schemas";
