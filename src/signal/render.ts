import QRCode from "qrcode";
import { maxPayloadLength } from "./payload.ts";
import { qrModules } from "./qr-mask.ts";
import type { SizeProfile } from "./profiles.ts";

/** Where the QR code sits and how big its modules are. Square, integer module size, 4-module quiet zone. */
export interface FrameLayout {
  readonly width: number;
  readonly height: number;
  readonly qrVersion: number;
  /** Modules per side of the code itself, without the quiet zone. */
  readonly moduleCount: number;
  readonly modulePx: number;
  /** Top-left corner of the quiet zone's outer edge. */
  readonly qrX: number;
  readonly qrY: number;
  /** Side of the code including its quiet zone, in pixels. */
  readonly qrPx: number;
}

const QUIET_MODULES = 4;
const QR_SHARE_OF_HEIGHT = 0.8;
const EC_LEVEL = "M";

export function planLayout(size: SizeProfile, streamId: string, kind: "live" | "video" = "live"): FrameLayout {
  // Fix the version for the longest payload this stream can carry, so the code never changes size mid-stream.
  const probe = QRCode.create("x".repeat(maxPayloadLength(streamId, kind)), { errorCorrectionLevel: EC_LEVEL });
  const moduleCount = probe.modules.size;
  const modulePx = Math.max(2, Math.floor((size.height * QR_SHARE_OF_HEIGHT) / (moduleCount + 2 * QUIET_MODULES)));
  const qrPx = modulePx * (moduleCount + 2 * QUIET_MODULES);
  const margin = Math.floor((size.height - qrPx) / 2);
  return {
    width: size.width,
    height: size.height,
    qrVersion: probe.version,
    moduleCount,
    modulePx,
    qrX: margin,
    qrY: margin,
    qrPx,
  };
}

const BANDS = 8;
const PERIOD = 256;

/**
 * Renders gray (8-bit luma) frames. A frame is a pure function of (layout, frame number, payload text): the
 * background scrolls with the frame number, band by band in alternating directions, so the encoder and quality
 * metrics have real motion and texture to work with; the QR code carries the payload.
 */
export class FrameRenderer {
  private readonly bandRows: Uint8Array[];
  private readonly qrRow: Uint8Array;

  constructor(readonly layout: FrameLayout) {
    this.bandRows = Array.from({ length: BANDS }, (_, b) => makeBandRow(layout.width + PERIOD, b));
    this.qrRow = new Uint8Array(layout.qrPx);
  }

  get frameBytes(): number {
    return this.layout.width * this.layout.height;
  }

  render(frameNumber: number, payloadText: string, out: Uint8Array = new Uint8Array(this.frameBytes)): Uint8Array {
    const { width, height, qrX, qrY, qrPx, modulePx } = this.layout;
    const bits = qrModules(payloadText, EC_LEVEL, this.layout.qrVersion).data;
    const bandHeight = Math.ceil(height / BANDS);
    // A bright stripe travelling down the picture adds vertical motion.
    const stripeHeight = Math.max(4, Math.floor(height / 20));
    const stripeTop = (frameNumber * Math.max(1, Math.floor(height / 120))) % height;
    const qrEnd = qrY + qrPx;
    let builtModuleRow = -1;
    // Rows come in runs that are alike (one band's row, or the stripe's, and one row of the code's modules): each
    // run's first row is drawn whole, the rest copied from the rows above it, doubling, so a 1080p frame is ~60 runs
    // and every byte is written once.
    for (let y = 0; y < height; ) {
      const inStripe = y >= stripeTop && y < stripeTop + stripeHeight;
      const bandOfRow = Math.floor(y / bandHeight);
      const band = inStripe ? (bandOfRow + BANDS / 2) % BANDS : bandOfRow;
      const inCode = y >= qrY && y < qrEnd;
      const moduleRow = inCode ? Math.floor((y - qrY) / modulePx) : -1;
      const runEnd = Math.min(
        height,
        (bandOfRow + 1) * bandHeight,
        inStripe ? stripeTop + stripeHeight : y >= stripeTop ? height : stripeTop,
        inCode ? qrY + (moduleRow + 1) * modulePx : y < qrY ? qrY : height,
      );
      const speed = ((band % 4) + 1) * 2 * (band % 2 === 0 ? 1 : -1);
      const shift = (((frameNumber * speed) % PERIOD) + PERIOD) % PERIOD;
      out.set(this.bandRows[band]!.subarray(shift, shift + width), y * width);
      if (inCode) {
        if (moduleRow !== builtModuleRow) this.drawModuleRow(bits, moduleRow);
        builtModuleRow = moduleRow;
        out.set(this.qrRow, y * width + qrX);
      }
      fillRowsDown(out, width, y, runEnd - y);
      y = runEnd;
    }
    return out;
  }

  /** One row of the code's modules, quiet zone included, into qrRow. */
  private drawModuleRow(bits: Uint8Array, moduleRow: number): void {
    const { moduleCount, modulePx } = this.layout;
    const row = this.qrRow;
    const r = moduleRow - QUIET_MODULES;
    row.fill(255);
    if (r < 0 || r >= moduleCount) return;
    for (let c = 0; c < moduleCount; c++) {
      if (bits[r * moduleCount + c]) {
        const x = (c + QUIET_MODULES) * modulePx;
        row.fill(0, x, x + modulePx);
      }
    }
  }
}

/** Copies row y to the `rows - 1` rows below it, doubling what each copy takes. */
function fillRowsDown(out: Uint8Array, width: number, y: number, rows: number): void {
  for (let done = 1; done < rows; ) {
    const n = Math.min(done, rows - done);
    out.copyWithin((y + done) * width, y * width, (y + n) * width);
    done += n;
  }
}

/** One periodic row of texture: a band-specific wave plus fixed pseudo-random grain, kept clear of pure black/white. */
function makeBandRow(length: number, band: number): Uint8Array {
  const row = new Uint8Array(length);
  const waves = (band % 3) + 1;
  for (let x = 0; x < length; x++) {
    const p = x % PERIOD;
    const wave = Math.sin((2 * Math.PI * p * waves) / PERIOD) * 55;
    const grain = (hash32(p * 131 + band * 7919) % 41) - 20;
    row[x] = Math.max(24, Math.min(231, Math.round(128 + wave + grain + (band - BANDS / 2) * 6)));
  }
  return row;
}

function hash32(n: number): number {
  let h = (n ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
