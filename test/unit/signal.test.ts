import { describe, expect, test } from "bun:test";
import QRCode from "qrcode";
import { QrReader } from "../../src/client/qr-reader.ts";
import { VatError } from "../../src/errors.ts";
import { decodePayload, encodePayload, encodeVideoPayload, maxPayloadLength, MAX_VIDEO_FRAMES } from "../../src/signal/payload.ts";
import { parseFps, parseSize, parseStreamId, SIZE_NAMES } from "../../src/signal/profiles.ts";
import { FrameRenderer, planLayout } from "../../src/signal/render.ts";

describe("sizes and fps", () => {
  test.each([
    ["240p", 426, 240], ["480p", 854, 480], ["720p", 1280, 720], ["1080p", 1920, 1080],
    ["0", 426, 240], ["1", 854, 480], ["2", 1280, 720], ["3", 1920, 1080],
    ["720", 1280, 720], ["1920x1080", 1920, 1080], ["1080P", 1920, 1080],
  ])("%s is %dx%d, 16:9 and even", (input, w, h) => {
    const s = parseSize(input);
    expect([s.width, s.height]).toEqual([w, h]);
    expect(s.width % 2).toBe(0);
    expect(Math.abs(s.width / s.height - 16 / 9)).toBeLessThan(0.01);
  });

  test.each(["360p", "4", "-1", "", "big", "1280x721"])("'%s' is refused with the valid sizes named", (input) => {
    expect(() => parseSize(input)).toThrow(VatError);
    expect(() => parseSize(input)).toThrow(/use one of 240p, 480p, 720p, 1080p/);
  });

  test("fps 1-60 whole numbers only", () => {
    expect(parseFps("1")).toBe(1);
    expect(parseFps(60)).toBe(60);
    for (const bad of [0, 61, 29.97, "abc", -5]) expect(() => parseFps(bad)).toThrow(/from 1 to 60/);
  });

  test("stream ids", () => {
    expect(parseStreamId("test-1_a.b")).toBe("test-1_a.b");
    for (const bad of ["", "a b", "x".repeat(33), "a|b", "ü"]) expect(() => parseStreamId(bad)).toThrow(VatError);
  });
});

describe("payload", () => {
  test.each([
    { streamId: "test1", frameNumber: 0, generatedAtMs: 1_700_000_000_000 },
    { streamId: "a", frameNumber: 123_456_789, generatedAtMs: 1_795_563_094_866 },
    { streamId: "x".repeat(32), frameNumber: 9_999_999_999, generatedAtMs: 9_999_999_999_999 },
  ])("round trip %o", (p) => {
    const text = encodePayload(p);
    expect(decodePayload(text)).toEqual({ version: 1, ...p });
    expect(text.length).toBeLessThanOrEqual(maxPayloadLength(p.streamId));
  });

  test("reads the prototype's dict payload (seconds → ms)", () => {
    expect(decodePayload("{'frame_number': 12, 'time': 1700000000.25, 'fps': 30}")).toEqual({
      version: 0,
      streamId: "",
      frameNumber: 12,
      generatedAtMs: 1_700_000_000_250,
    });
    expect(decodePayload('{"time": 5, "frame_number": 3, "id": "old"}')).toMatchObject({
      frameNumber: 3,
      generatedAtMs: 5000,
      streamId: "old",
    });
  });

  test.each([
    { streamId: "sig", frameNumber: 0, msFromStart: 0, loopFrames: 1800 },
    { streamId: "y".repeat(32), frameNumber: MAX_VIDEO_FRAMES - 1, msFromStart: 9_999_999_999, loopFrames: MAX_VIDEO_FRAMES },
  ])("prerecorded round trip %o: times relative to the video, frames per loop", (p) => {
    const text = encodeVideoPayload(p);
    expect(decodePayload(text)).toEqual({
      version: 1, streamId: p.streamId, frameNumber: p.frameNumber, generatedAtMs: p.msFromStart,
      video: { loopFrames: p.loopFrames },
    });
    expect(text.length).toBeLessThanOrEqual(maxPayloadLength(p.streamId, "video"));
  });

  test.each([
    "", "hello", "vat1|a|b|c", "vat1|a|1", "vat1||1|2", "{'frame_number': 1}", "vat2|a|1|2",
    "vat1v|a|1|2", "vat1v|a|5|2|5", "vat1v|a|1|2|0", "vat1v||1|2|3", "vat1v|a|1|x|3",
  ])(
    "'%s' is no payload",
    (text) => expect(decodePayload(text)).toBeNull(),
  );
});

describe("rendered frames", () => {
  test.each(SIZE_NAMES.map((n) => [n]))("%s: square code, integer modules, 4-module quiet zone, inside the frame", (name) => {
    const size = parseSize(name);
    const layout = planLayout(size, "test1");
    const r = new FrameRenderer(layout);
    const text = encodePayload({ streamId: "test1", frameNumber: 77, generatedAtMs: 1_795_000_000_123 });
    const frame = r.render(77, text);
    expect(frame.length).toBe(size.width * size.height);
    expect(Number.isInteger(layout.modulePx)).toBe(true);
    expect(layout.modulePx).toBeGreaterThanOrEqual(3);
    expect(layout.qrPx).toBe(layout.modulePx * (layout.moduleCount + 8));
    expect(layout.qrX + layout.qrPx).toBeLessThanOrEqual(size.width);
    expect(layout.qrY + layout.qrPx).toBeLessThanOrEqual(size.height);

    // Every pixel of every module equals that module's bit: hard edges, no interpolation, no stretching.
    const qr = QRCode.create(text, { errorCorrectionLevel: "M", version: layout.qrVersion });
    const n = layout.moduleCount;
    let wrong = 0;
    for (let my = -4; my < n + 4; my++) {
      for (let mx = -4; mx < n + 4; mx++) {
        const inCode = my >= 0 && my < n && mx >= 0 && mx < n;
        const want = inCode && qr.modules.data[my * n + mx] ? 0 : 255;
        for (let dy = 0; dy < layout.modulePx; dy++) {
          for (let dx = 0; dx < layout.modulePx; dx++) {
            const x = layout.qrX + (mx + 4) * layout.modulePx + dx;
            const y = layout.qrY + (my + 4) * layout.modulePx + dy;
            if (frame[y * size.width + x] !== want) wrong++;
          }
        }
      }
    }
    expect(wrong).toBe(0);
  });

  test("the picture is the one earlier versions drew: prerecorded videos' references are drawn again from it", () => {
    // Digests of frames 0, 7, …, 399 (the stripe crosses every band) of each size, drawn by the renderer as it was
    // when videos were first generated. A change here would give old videos' quality figures a wrong reference.
    const expected = { "240p": "6f366fc03e1f2c60", "480p": "d73526712a6512b0", "720p": "62736b77b7f9b718", "1080p": "bab5b4cb2851d3b6" };
    const got: Record<string, string> = {};
    for (const name of SIZE_NAMES) {
      const r = new FrameRenderer(planLayout(parseSize(name), "vat"));
      const hash = new Bun.CryptoHasher("sha256");
      for (let n = 0; n < 400; n += 7) hash.update(r.render(n, `vat1|vat|${n}|1796161192499`));
      got[name] = hash.digest("hex").slice(0, 16);
    }
    expect(got).toEqual(expected);
  });

  test("so is a video's with the longest stream id (a larger code), over every place of the stripe", () => {
    // Frames 0-119 (at 1080p the stripe moves 9 rows a frame: every place it takes), a 32-character id, so the
    // code is version 5 where the test above has version 3; digests from the renderer before its one-pass drawing.
    const id = "sweep-2026-12-07_a.b-c_012345678";
    const expected = { "240p": "c37f37b71ee7109d", "480p": "88ed2ad8989d2596", "720p": "073463f4abbba77f", "1080p": "7e94aaefee24ada8" };
    const got: Record<string, string> = {};
    for (const name of SIZE_NAMES) {
      const layout = planLayout(parseSize(name), id, "video");
      expect(layout.qrVersion).toBe(5);
      const r = new FrameRenderer(layout);
      const hash = new Bun.CryptoHasher("sha256");
      for (let n = 0; n < 120; n++) {
        hash.update(r.render(n, encodeVideoPayload({ streamId: id, frameNumber: n, msFromStart: Math.round((n * 1000) / 30), loopFrames: 1800 })));
      }
      got[name] = hash.digest("hex").slice(0, 16);
    }
    expect(got).toEqual(expected);
  });

  test("a frame is a pure function of frame number and payload; the background moves", () => {
    const layout = planLayout(parseSize("480p"), "s");
    const a = new FrameRenderer(layout);
    const b = new FrameRenderer(layout);
    const text = encodePayload({ streamId: "s", frameNumber: 5, generatedAtMs: 1 });
    expect(Buffer.from(a.render(5, text)).equals(Buffer.from(b.render(5, text)))).toBe(true);
    const next = a.render(6, text);
    let changed = 0;
    const five = b.render(5, text);
    for (let i = 0; i < next.length; i++) if (next[i] !== five[i]) changed++;
    expect(changed / next.length).toBeGreaterThan(0.3);
  });

  test.each(SIZE_NAMES.map((n) => [n]))("%s: the reader gets the payload back from 30 consecutive frames", async (name) => {
    const size = parseSize(name);
    const r = new FrameRenderer(planLayout(size, "rt"));
    const reader = await QrReader.create();
    for (let n = 1000; n < 1030; n++) {
      const text = encodePayload({ streamId: "rt", frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 33 });
      const got = reader.read(r.render(n, text), size.width, size.height);
      expect(got?.text).toBe(text);
    }
  });

  test("a frame with no code reads as nothing", async () => {
    const reader = await QrReader.create();
    const gray = new Uint8Array(854 * 480).map((_, i) => (i * 7) % 251);
    expect(reader.read(gray, 854, 480)).toBeNull();
  });
});
