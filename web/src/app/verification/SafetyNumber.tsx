import { useEffect, useId, useState } from "react";
import { groupDigits, safetyNumber, safetyNumberQrPayload } from "../../crypto";
import { QrCode } from "../QrCode";

export interface Party {
  readonly userId: string;
  readonly aikPub: Uint8Array;
}

/** The 60-digit safety number of two people (§6.5), in 12 groups of 5, with its QR code. */
export function SafetyNumber({ me, peer, peerName }: { me: Party; peer: Party; peerName: string }) {
  const [digits, setDigits] = useState<string | null>(null);
  const labelId = useId();
  useEffect(() => {
    let live = true;
    void safetyNumber(me, peer).then((n) => {
      if (live) setDigits(n);
    });
    return () => {
      live = false;
    };
  }, [me, peer]);
  if (digits === null) return <p className="status">Working out the safety number…</p>;
  return (
    <div>
      <p id={labelId}>Safety number with {peerName}:</p>
      <ol className="code-list safety-number" aria-labelledby={labelId}>
        {groupDigits(digits).map((group, i) => (
          <li key={i}>
            <code>{group}</code>
          </li>
        ))}
      </ol>
      <QrCode text={safetyNumberQrPayload(digits)} label={`Safety number with ${peerName} as a QR code`} />
    </div>
  );
}
