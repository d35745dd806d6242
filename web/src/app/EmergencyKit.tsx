// The Emergency Kit (crypto-protocol §3.3): the staff member's Secret Key as text and QR, with
// their email, a blank for the password and where to sign in. Shown once, to print or write
// down; it never leaves this browser except on paper.
import { formatSecretKey } from "../crypto";
import { QrCode } from "./QrCode";

export function EmergencyKit({ email, secretKey }: { email: string; secretKey: Uint8Array }) {
  const text = formatSecretKey(secretKey);
  const signIn = `${window.location.origin}/sign-in`;
  return (
    <div className="inset printable emergency-kit" aria-labelledby="kit-heading">
      <h2 id="kit-heading">Quietroom Emergency Kit</h2>
      <p>
        Keep this sheet somewhere safe, away from your computer. With your password it lets you sign in on a new
        device. Nobody at your practice or on the server can see your Secret Key or give it back to you.
      </p>
      <dl className="facts">
        <dt>Sign in at</dt>
        <dd>
          <code>{signIn}</code>
        </dd>
        <dt>Email address</dt>
        <dd>{email}</dd>
        <dt>Secret Key</dt>
        <dd>
          <code className="secret-key" aria-label="Secret Key">
            {text}
          </code>
        </dd>
        <dt>Password</dt>
        <dd className="write-in">(write it here only if this sheet is locked away)</dd>
      </dl>
      <QrCode text={text} label="QR code of your Secret Key" />
    </div>
  );
}
