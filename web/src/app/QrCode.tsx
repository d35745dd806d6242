import qrcode from "qrcode-generator";

/** The dark modules of a QR code as one SVG path (1 unit per module, 4-module quiet zone). */
export function qrPath(text: string): { size: number; d: string } {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) parts.push(`M${col + 4} ${row + 4}h1v1h-1z`);
    }
  }
  return { size: count + 8, d: parts.join("") };
}

/** A QR code drawn as SVG elements (no data: URL, no inline style), for scanning from the
 * screen. `label` describes it for screen readers. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, d } = qrPath(text);
  return (
    <svg className="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width={size} height={size} className="qr-light" />
      <path d={d} className="qr-dark" />
    </svg>
  );
}
