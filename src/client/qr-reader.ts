import { getZXingModule } from "zxing-wasm/reader";
import wasmPath from "zxing-wasm/reader/zxing_reader.wasm" with { type: "file" };
import { MAX_GRID_VERSION, type Quad, readGrid } from "./qr-grid.ts";

/** A rectangle in frame pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface QrRead {
  text: string;
  /** Where the code was found, in frame pixels. */
  box: Box;
}

/** What a full read says of where the code is, so that the next frames can be read at its module grid. */
interface Found extends QrRead {
  quad: Quad;
  version: number;
}

/** Decimated crops aim at this many pixels across the code (~4 px per module for a version-3 code). */
const DECIMATE_TARGET_PX = 70;

// Reader options in the form the WASM binding takes (zxing-wasm converts its friendly options to this).
const CAREFUL = {
  formats: "QRCode",
  tryHarder: false,
  tryRotate: false,
  tryInvert: false,
  tryDownscale: true,
  tryDenoise: false,
  binarizer: 0, // LocalAverage
  isPure: false,
  downscaleFactor: 3,
  downscaleThreshold: 500,
  minLineCount: 2,
  maxNumberOfSymbols: 1,
  validateOptionalChecksum: false,
  returnErrors: false,
  eanAddOnSymbol: 0,
  textMode: 0, // Plain
  characterSet: 0,
  tryCode39ExtendedMode: false,
};
/**
 * Tried first: one fixed threshold instead of local averages. The signal's modules are black and white with hard
 * edges, so this reads as many frames as CAREFUL does at crf 30–45 from 240p to 1080p, for 40 % fewer instructions
 * (bench/frame-cost.ts); a frame it misses (a provider that shifted the levels, say) is read again with CAREFUL.
 */
const FAST = { ...CAREFUL, binarizer: 2 }; // FixedThreshold

interface RawResult {
  isValid: boolean;
  text: string;
  /** The symbol's version, as text ("3"). */
  version: string;
  position: {
    topLeft: { x: number; y: number };
    topRight: { x: number; y: number };
    bottomLeft: { x: number; y: number };
    bottomRight: { x: number; y: number };
  };
}
interface RawResults {
  size(): number;
  get(i: number): RawResult;
  delete?: () => void;
}
/** The parts of the Emscripten module used here (zxing-wasm's own wrapper takes only RGBA ImageData). */
interface PixmapModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  readBarcodesFromPixmap(ptr: number, width: number, height: number, options: typeof CAREFUL): RawResults;
}

/**
 * Reads QR codes from 8-bit gray frames. A stream's code stays in one place, so once zxing-cpp (compiled to WASM)
 * has found it, the next frames of the same size are read at its module grid (client/qr-grid.ts: a few thousand
 * pixel reads, and only a whole symbol, its errors within what its Reed-Solomon blocks correct). A frame that does
 * not read there goes to zxing: first a crop around the last code (a fraction of the frame's pixels), then the whole
 * frame; what it finds is the new grid.
 */
export class QrReader {
  private heapPtr = 0;
  private heapBytes = 0;
  private lastBox: Box | null = null;
  /** Where zxing last found the code, in frames of the size last read. */
  private grid: { quad: Quad; version: number } | null = null;
  private frameWidth = 0;
  private frameHeight = 0;
  private crop = new Uint8Array(0);
  private readonly samples = new Uint8Array((17 + 4 * MAX_GRID_VERSION) ** 2);
  /** Frames read at the grid, and by zxing: the grid's share shows how much of the reading is the cheap kind. */
  readonly counts = { grid: 0, full: 0 };

  private constructor(
    private readonly zx: PixmapModule,
    private readonly useGrid: boolean,
  ) {}

  /**
   * A reader with its own state (where its stream's code was, its buffers) on the one zxing instance of the process:
   * an instance is ~6.5 MiB resident, and every stream of a client reads on the same thread, one frame at a time.
   * `grid: false` reads every frame with zxing (bench/frame-cost.ts compares the two).
   */
  static async create(options: { grid?: boolean } = {}): Promise<QrReader> {
    sharedModule ??= loadModule();
    return new QrReader(await sharedModule, options.grid ?? true);
  }

  read(gray: Uint8Array, width: number, height: number): QrRead | null {
    if (width !== this.frameWidth || height !== this.frameHeight) {
      // Where the code was in frames of another size says nothing of where it is now.
      this.lastBox = null;
      this.grid = null;
      this.frameWidth = width;
      this.frameHeight = height;
    }
    const grid = this.grid;
    if (grid && this.lastBox) {
      const text = readGrid(gray, width, height, grid.quad, grid.version, this.samples);
      if (text !== null) {
        this.counts.grid++;
        return { text, box: this.lastBox };
      }
    }
    const found = this.readFull(gray, width, height);
    if (found) this.counts.full++;
    this.grid = found && this.useGrid && found.version <= MAX_GRID_VERSION ? { quad: found.quad, version: found.version } : null;
    return found && { text: found.text, box: found.box };
  }

  private readFull(gray: Uint8Array, width: number, height: number): Found | null {
    if (this.lastBox) {
      const roi = growBox(this.lastBox, width, height);
      if (roi.width * roi.height < width * height * 0.8) {
        const found = this.readRegion(gray, width, roi);
        if (found) return found;
      }
    }
    // The whole frame, decimated first when the code is large in it (the decoder's code region at 1080p: half the
    // zxing work, every frame still read at crf 45), then at full resolution.
    const whole = { x: 0, y: 0, width, height };
    const found = (decimationOf(whole) > 1 ? this.readRegion(gray, width, whole) : null) ?? this.readPixels(gray, width, height, 0, 0);
    this.lastBox = found?.box ?? null;
    return found;
  }

  /**
   * Copies the region, keeping every k-th pixel so the code's modules stay about 4 pixels wide: zxing's time grows
   * with pixel count, and our codes have hard-edged modules of up to 23 pixels at 1080p.
   */
  private readRegion(gray: Uint8Array, stride: number, roi: Box): Found | null {
    const k = decimationOf(roi);
    const w = Math.floor(roi.width / k);
    const h = Math.floor(roi.height / k);
    const bytes = w * h;
    if (this.crop.length < bytes) this.crop = new Uint8Array(bytes);
    const crop = this.crop;
    const half = k >> 1;
    for (let y = 0; y < h; y++) {
      const from = (roi.y + y * k + half) * stride + roi.x + half;
      if (k === 1) {
        crop.set(gray.subarray(from, from + w), y * w);
      } else {
        const to = y * w;
        for (let x = 0; x < w; x++) crop[to + x] = gray[from + x * k]!;
      }
    }
    const found = this.readPixels(crop, w, h, 0, 0);
    if (!found) return null;
    const b = found.box;
    this.lastBox = { x: roi.x + b.x * k, y: roi.y + b.y * k, width: b.width * k, height: b.height * k };
    // Kept pixel i of the crop stands for the k pixels centred on frame pixel roi + i·k + ⌊k/2⌋ (centre + 0.5 in
    // edge coordinates), so the edge before it lies k/2 before that centre.
    const shift = half + 0.5 - k / 2;
    const toFrame = (p: { x: number; y: number }) => ({ x: roi.x + p.x * k + shift, y: roi.y + p.y * k + shift });
    const q = found.quad;
    const quad = { topLeft: toFrame(q.topLeft), topRight: toFrame(q.topRight), bottomRight: toFrame(q.bottomRight), bottomLeft: toFrame(q.bottomLeft) };
    return { text: found.text, box: this.lastBox, quad, version: found.version };
  }

  private readPixels(pixels: Uint8Array, width: number, height: number, dx: number, dy: number): Found | null {
    const bytes = width * height;
    if (bytes > this.heapBytes) {
      if (this.heapPtr) this.zx._free(this.heapPtr);
      this.heapPtr = this.zx._malloc(bytes);
      if (!this.heapPtr) throw new Error(`cannot allocate ${bytes} bytes for the QR reader`);
      this.heapBytes = bytes;
    }
    this.zx.HEAPU8.set(pixels.subarray(0, bytes), this.heapPtr);
    return this.decode(width, height, dx, dy, FAST) ?? this.decode(width, height, dx, dy, CAREFUL);
  }

  /** Reads the pixels already copied to the WASM heap. */
  private decode(width: number, height: number, dx: number, dy: number, options: typeof CAREFUL): Found | null {
    const results = this.zx.readBarcodesFromPixmap(this.heapPtr, width, height, options);
    try {
      for (let i = 0; i < results.size(); i++) {
        const r = results.get(i);
        if (!r?.isValid) continue;
        const p = r.position;
        const xs = [p.topLeft.x, p.topRight.x, p.bottomLeft.x, p.bottomRight.x];
        const ys = [p.topLeft.y, p.topRight.y, p.bottomLeft.y, p.bottomRight.y];
        const x = Math.min(...xs);
        const y = Math.min(...ys);
        const at = (q: { x: number; y: number }) => ({ x: q.x + dx, y: q.y + dy });
        return {
          text: r.text,
          box: { x: x + dx, y: y + dy, width: Math.max(...xs) - x, height: Math.max(...ys) - y },
          quad: { topLeft: at(p.topLeft), topRight: at(p.topRight), bottomRight: at(p.bottomRight), bottomLeft: at(p.bottomLeft) },
          version: Number(r.version),
        };
      }
      return null;
    } finally {
      results.delete?.();
    }
  }
}

let sharedModule: Promise<PixmapModule> | null = null;

async function loadModule(): Promise<PixmapModule> {
  const wasmBinary = await Bun.file(wasmPath).arrayBuffer();
  return (await getZXingModule({ wasmBinary })) as unknown as PixmapModule;
}

/** Keep every k-th pixel of this region. */
function decimationOf(roi: Box): number {
  return Math.max(1, Math.floor(Math.min(roi.width, roi.height) / 2 / DECIMATE_TARGET_PX));
}

/** The box grown by half its size on every side (the quiet zone and some movement), clipped to the frame. */
export function growBox(box: Box, frameWidth: number, frameHeight: number): Box {
  const padX = Math.ceil(box.width / 2);
  const padY = Math.ceil(box.height / 2);
  const x = Math.max(0, Math.floor(box.x - padX));
  const y = Math.max(0, Math.floor(box.y - padY));
  const right = Math.min(frameWidth, Math.ceil(box.x + box.width + padX));
  const bottom = Math.min(frameHeight, Math.ceil(box.y + box.height + padY));
  return { x, y, width: right - x, height: bottom - y };
}
