// The practice recovery sheet (crypto-protocol §6.1): the practice id, the PRK and PRSK seeds in
// base32 groups of four, the practice security code and a QR of all of it. Printed once at
// set-up and kept offline; the seeds are wiped from memory once the owner has typed one back.
import { formatSeed, groupDigits, sheetQrPayload } from "../crypto";
import { QrCode } from "./QrCode";

export interface SheetContent {
  readonly practiceName: string;
  readonly practiceId: string;
  readonly prkSeed: Uint8Array;
  readonly prskSeed: Uint8Array;
  readonly securityCode: string;
}

export function RecoverySheet({ sheet }: { sheet: SheetContent }) {
  return (
    <div className="inset printable recovery-sheet" aria-labelledby="sheet-heading">
      <h2 id="sheet-heading">Recovery sheet: {sheet.practiceName}</h2>
      <p>
        These two keys can open every record of the practice and sign for it. Print this sheet (twice), keep the copies
        offline in two safe places, and never type these keys into a computer except to recover an account.
      </p>
      <dl className="facts">
        <dt>Practice</dt>
        <dd>{sheet.practiceName}</dd>
        <dt>Practice id</dt>
        <dd>
          <code>{sheet.practiceId}</code>
        </dd>
        <dt>Practice Recovery Key (PRK)</dt>
        <dd>
          <code className="seed" aria-label="Practice Recovery Key">
            {formatSeed(sheet.prkSeed)}
          </code>
        </dd>
        <dt>Practice Signing Key (PRSK)</dt>
        <dd>
          <code className="seed" aria-label="Practice Signing Key">
            {formatSeed(sheet.prskSeed)}
          </code>
        </dd>
        <dt>Practice security code</dt>
        <dd>
          <code className="security-code" aria-label="Practice security code">
            {groupDigits(sheet.securityCode).join(" ")}
          </code>
        </dd>
      </dl>
      <QrCode text={sheetQrPayload(sheet.practiceId, sheet.prkSeed, sheet.prskSeed)} label="QR code of the recovery sheet" />
    </div>
  );
}
