import { describe, expect, test } from "vitest";
import { certificateFingerprint, checkSdpFingerprints, sdpFingerprints } from "./webrtc";

const P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };

describe("WebRTC fingerprints against a real RTCPeerConnection (Chromium)", () => {
  test("a fresh certificate's fingerprint matches the offer SDP", async () => {
    const cert = await RTCPeerConnection.generateCertificate(P256);
    const fp = certificateFingerprint(cert);
    expect(fp).toHaveLength(32);
    const pc = new RTCPeerConnection({ certificates: [cert] });
    pc.createDataChannel("x");
    const offer = await pc.createOffer();
    pc.close();
    const sdp = offer.sdp ?? "";
    expect(sdpFingerprints(sdp).length).toBeGreaterThan(0);
    checkSdpFingerprints(sdp, fp);
    const other = certificateFingerprint(await RTCPeerConnection.generateCertificate(P256));
    expect(() => { checkSdpFingerprints(sdp, other); }).toThrow(/E_FINGERPRINT/);
  });
});
