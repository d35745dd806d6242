/**
 * Signed DTLS fingerprints for 1:1 calls (spec §12.1). Each side signs, with its device key
 * DK_sig, the sha-256 fingerprint of its fresh per-call certificate; the receiver checks the
 * statement, the SDP and (once connected) the remote certificate. Any failure is
 * `E_FINGERPRINT` and the call must be shown as not verified.
 */
import { fail } from "./errors";
import { B, I, T, b64url, fromB64urlLen, labeled, parseUuid } from "./encoding";
import { type DeviceList, activeDevice } from "./devices";
import { sha256, sign, verify } from "./primitives";
import type { Bytes } from "./types";

export type CallRole = "offerer" | "answerer";

export interface FingerprintStatement {
  readonly suite: string;
  readonly call_id: string;
  readonly role: CallRole;
  readonly user_id: string;
  readonly device_id: string;
  /** Always "sha-256". */
  readonly hash: string;
  /** base64url of the 32 raw sha-256 bytes. */
  readonly fingerprint: string;
  readonly sig: string;
}

export function webrtcFpMessage(s: Omit<FingerprintStatement, "sig" | "suite">): Bytes {
  const role: string = s.role; // JSON input: checked at run time
  if (role !== "offerer" && role !== "answerer") fail("E_FINGERPRINT", "role");
  if (s.hash !== "sha-256") fail("E_FINGERPRINT", "only sha-256 fingerprints are signed");
  return labeled(
    "webrtc-fp",
    I(s.call_id),
    T(s.role),
    I(s.user_id),
    I(s.device_id),
    T(s.hash),
    B(fromB64urlLen(s.fingerprint, 32, "fingerprint")),
  );
}

/** `AB:CD:...` (as in SDP and `RTCCertificate.getFingerprints()`) → 32 bytes. */
export function parseFingerprintHex(text: string): Bytes {
  if (!/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}$/.test(text)) fail("E_FINGERPRINT", "not a sha-256 fingerprint");
  const out = new Uint8Array(new ArrayBuffer(32));
  text.split(":").forEach((h, i) => (out[i] = parseInt(h, 16)));
  return out;
}

/** The local certificate's sha-256 fingerprint (a fresh ECDSA P-256 certificate per call). */
export function certificateFingerprint(cert: RTCCertificate): Bytes {
  const fps = cert.getFingerprints().filter((f) => f.algorithm === "sha-256");
  const fp = fps[0];
  if (fps.length !== 1 || fp?.value === undefined) return fail("E_FINGERPRINT", "certificate has no single sha-256 fingerprint");
  return parseFingerprintHex(fp.value);
}

export async function signFingerprint(
  dkSig: CryptoKey,
  s: { callId: string; role: CallRole; userId: string; deviceId: string; fingerprint: Uint8Array },
): Promise<FingerprintStatement> {
  const unsigned = {
    suite: "qr1",
    call_id: parseUuid(s.callId),
    role: s.role,
    user_id: parseUuid(s.userId),
    device_id: parseUuid(s.deviceId),
    hash: "sha-256",
    fingerprint: b64url(s.fingerprint),
  };
  return { ...unsigned, sig: b64url(await sign(dkSig, webrtcFpMessage(unsigned))) };
}

/** Every `a=fingerprint` line of an SDP, as `[algorithm, bytes]`. */
export function sdpFingerprints(sdp: string): { algorithm: string; value: string }[] {
  const out: { algorithm: string; value: string }[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=fingerprint:(\S+) (\S+)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.push({ algorithm: m[1].toLowerCase(), value: m[2] });
  }
  return out;
}

/**
 * Checks a peer's statement: the device is in the peer's current signed device list and not
 * revoked (the list and its AIK are already verified by the caller), the call, role and user
 * match, the signature verifies with that device's DK_sig, and every `a=fingerprint` of the
 * remote SDP is sha-256 and equal to the signed value. Returns the verified fingerprint.
 */
export async function verifyFingerprintStatement(
  st: FingerprintStatement,
  expect: { callId: string; role: CallRole; userId: string; deviceList: DeviceList; remoteSdp?: string },
): Promise<Bytes> {
  if (st.suite !== "qr1") fail("E_FINGERPRINT", "unknown suite");
  if (st.call_id !== expect.callId || st.role !== expect.role || st.user_id !== expect.userId) {
    fail("E_FINGERPRINT", "statement is for another call, role or user");
  }
  if (expect.deviceList.user_id !== st.user_id) fail("E_FINGERPRINT", "device list of another user");
  const device = activeDevice(expect.deviceList, st.device_id);
  if (device === undefined) return fail("E_FINGERPRINT", "device unknown or revoked");
  const fp = fromB64urlLen(st.fingerprint, 32, "fingerprint");
  await verify(fromB64urlLen(device.dk_sig_pub, 32, "dk_sig_pub"), fromB64urlLen(st.sig, 64, "sig"), webrtcFpMessage(st), "E_FINGERPRINT");
  if (expect.remoteSdp !== undefined) checkSdpFingerprints(expect.remoteSdp, fp);
  return fp;
}

/** Every `a=fingerprint` must be sha-256 and equal the signed value; at least one must exist. */
export function checkSdpFingerprints(sdp: string, signed: Uint8Array): void {
  const fps = sdpFingerprints(sdp);
  if (fps.length === 0) fail("E_FINGERPRINT", "SDP has no fingerprint");
  const expected = b64url(signed);
  for (const f of fps) {
    if (f.algorithm !== "sha-256") fail("E_FINGERPRINT", "only sha-256 fingerprints are accepted");
    if (b64url(parseFingerprintHex(f.value)) !== expected) fail("E_FINGERPRINT", "SDP fingerprint differs from the signed one");
  }
}

/** Once connected: `dtlsTransport.getRemoteCertificates()[0]` must hash to the signed value. */
export async function checkRemoteCertificate(certDer: ArrayBuffer | Uint8Array, signed: Uint8Array): Promise<void> {
  const h = await sha256(certDer instanceof Uint8Array ? certDer : new Uint8Array(certDer));
  if (b64url(h) !== b64url(signed)) fail("E_FINGERPRINT", "remote certificate differs from the signed fingerprint");
}
