import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listAvailableSegments } from "../../src/dash/addressing.ts";
import { parseMpd } from "../../src/dash/mpd.ts";
import { probeSegmentPackets } from "../helpers/packagers.ts";
import { exchange, parseAnswer } from "../helpers/raw-http.ts";
import { childPids, client, eventually, ffprobeFrames, openDb, rawGet, serve, skippedByOrigin, tempDir, vat, type Served } from "../helpers/vat.ts";

// The compiled binary serving --format ll-hls and ll-dash at 240p30 (1 s segments, 200 ms parts), checked over real
// HTTP on loopback: the playlist's tags, blocking reloads timed against the part they wait for, the preload-hinted
// part and the DASH segment still being written arriving chunk by chunk, the 400 and 503 answers, parts that add up to
// their segment, and ffprobe reading what is served.
const tmp = tempDir("vat-ll-serve-");
const FPS = 30;
const PART_MS = 200;
afterAll(() => tmp.cleanup());

/** A body read as it arrives: each chunk's size and ms since the request was sent. */
async function timedBody(url: string): Promise<{ status: number; chunks: { atMs: number; bytes: number }[]; body: Uint8Array; endMs: number }> {
  const t0 = performance.now();
  const r = await fetch(url);
  const chunks: { atMs: number; bytes: number }[] = [];
  const parts: Uint8Array[] = [];
  const reader = r.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push({ atMs: performance.now() - t0, bytes: value.length });
    parts.push(value);
  }
  return { status: r.status, chunks, body: new Uint8Array(Buffer.concat(parts)), endMs: performance.now() - t0 };
}

async function bytesOf(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return new Uint8Array(await r.arrayBuffer());
}

const hintOf = (playlist: string) => {
  const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_(\d+)_(\d+)\.m4s"/.exec(playlist);
  if (!m) throw new Error(`no preload hint in:\n${playlist}`);
  return { msn: Number(m[1]), part: Number(m[2]) };
};

describe("--format ll-hls", () => {
  let server: Served;
  let video: string;
  beforeAll(async () => {
    server = serve(["--format", "ll-hls", "--size", "240p", "--fps", String(FPS), "--id", "llhls", "--part", `${PART_MS}ms`]);
    await server.waitLive(15_000);
    video = `${server.url}/video`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("the playlist: LL-HLS tags present and well formed, parts within the part target, INDEPENDENT on keyframe parts", async () => {
    const text = await (await fetch(`${video}/stream.m3u8`)).text();
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("#EXTM3U");
    expect(Number(/^#EXT-X-VERSION:(\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(9);
    expect(/^#EXT-X-TARGETDURATION:1$/m.test(text)).toBe(true);
    const control = /^#EXT-X-SERVER-CONTROL:(.*)$/m.exec(text)![1]!;
    expect(control).toContain("CAN-BLOCK-RELOAD=YES");
    const holdBackS = Number(/PART-HOLD-BACK=([\d.]+)/.exec(control)![1]);
    expect(Number(/CAN-SKIP-UNTIL=([\d.]+)/.exec(control)![1])).toBeGreaterThanOrEqual(6);
    const partTargetS = Number(/^#EXT-X-PART-INF:PART-TARGET=([\d.]+)$/m.exec(text)![1]);
    expect(partTargetS).toBe(PART_MS / 1000);
    expect(holdBackS).toBeGreaterThanOrEqual(3 * partTargetS - 1e-9);
    expect(/^#EXT-X-MAP:URI="init_0\.mp4"$/m.test(text)).toBe(true);
    expect(/^#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/m.test(text)).toBe(true);
    const parts = [...text.matchAll(/^#EXT-X-PART:DURATION=([\d.]+),URI="part_(\d+)_(\d+)\.m4s"(,INDEPENDENT=YES)?$/gm)];
    expect(parts.length).toBeGreaterThanOrEqual(5);
    expect(parts.length).toBe(lines.filter((l) => l.startsWith("#EXT-X-PART:")).length);
    for (const p of parts) {
      expect(Number(p[1])).toBeLessThanOrEqual(partTargetS);
      expect(p[4] !== undefined).toBe(p[3] === "0"); // a segment's first part starts at its keyframe, the others do not
    }
    // The hint is the part after the last one listed.
    const last = parts.at(-1)!;
    const hint = hintOf(text);
    const next = Number(last[3]) === 4 ? { msn: Number(last[2]) + 1, part: 0 } : { msn: Number(last[2]), part: Number(last[3]) + 1 };
    expect(hint).toEqual(next);
    const params = (await (await fetch(`${server.url}/params`)).json()) as { vat: Record<string, unknown> };
    expect(params.vat).toMatchObject({ format: "ll-hls", partS: 0.2, manifestPath: "/video/stream.m3u8" });
  });

  test("a blocking reload for the hinted part returns as that part is finished, within a part's length, and holds it", async () => {
    for (let round = 0; round < 3; round++) {
      const hint = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
      const name = `part_${hint.msn}_${hint.part}.m4s`;
      // Ground truth for when the part is finished: its own body, streamed by the origin as it is written, ends then.
      const [reload, body] = await Promise.all([
        (async () => {
          const t0 = performance.now();
          const r = await fetch(`${video}/stream.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`);
          const text = await r.text();
          return { status: r.status, text, ms: performance.now() - t0 };
        })(),
        timedBody(`${video}/${name}`),
      ]);
      expect(reload.status).toBe(200);
      expect(reload.text).toContain(`URI="${name}"`);
      expect(reload.ms).toBeLessThanOrEqual(PART_MS + 150);
      // Not before the part was whole: no earlier than its last chunk (give or take the two responses' scheduling).
      expect(reload.ms).toBeGreaterThanOrEqual(body.endMs - 30);
      expect(Math.abs(reload.ms - body.endMs)).toBeLessThan(60);
    }
  });

  test("the preload-hinted part not yet begun arrives in several chunks over about a part's length", async () => {
    // A blocking reload answered as a part is finished names the next one, which has not begun, as its hint.
    const current = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
    const hint = hintOf(await (await fetch(`${video}/stream.m3u8?_HLS_msn=${current.msn}&_HLS_part=${current.part}`)).text());
    const r = await timedBody(`${video}/part_${hint.msn}_${hint.part}.m4s`);
    expect(r.status).toBe(200);
    expect(r.chunks.length).toBeGreaterThanOrEqual(3);
    const spreadMs = r.chunks.at(-1)!.atMs - r.chunks[0]!.atMs;
    expect(spreadMs).toBeGreaterThanOrEqual(PART_MS / 2);
    expect(r.endMs).toBeLessThanOrEqual(PART_MS + 150);
    const init = join(tmp.path, "init.mp4");
    const part = join(tmp.path, "hinted.m4s");
    writeFileSync(init, await bytesOf(`${video}/init_0.mp4`));
    writeFileSync(part, r.body);
    // A part may start between keyframes (it does not decode alone): ffprobe counts its packets.
    expect(probeSegmentPackets(init, part, tmp.path).length).toBe((FPS * PART_MS) / 1000);
  });

  test("400 for a part without a segment number and for a segment too far ahead; a part past the hint is not found", async () => {
    const hint = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
    expect((await fetch(`${video}/stream.m3u8?_HLS_part=1`)).status).toBe(400);
    expect((await fetch(`${video}/stream.m3u8?_HLS_msn=${hint.msn + 3}`)).status).toBe(400);
    expect((await fetch(`${video}/stream.m3u8?_HLS_msn=${hint.msn + 3}&_HLS_part=0`)).status).toBe(400);
    expect((await fetch(`${video}/stream.m3u8?_HLS_msn=abc`)).status).toBe(400);
    expect((await fetch(`${video}/part_${hint.msn + 3}_0.m4s`)).status).toBe(404);
    expect((await fetch(`${video}/seg_0.ts`)).status).toBe(404);
    expect((await fetch(`${video}/..%2fparams`)).status).toBe(404);
  });

  test("parts concatenated are their segment; ffprobe reads init + segment, a segment's worth of frames", async () => {
    const text = await (await fetch(`${video}/stream.m3u8`)).text();
    // The newest whole segment whose parts are still listed.
    const whole = [...text.matchAll(/^seg_(\d+)\.m4s$/gm)].map((m) => Number(m[1]));
    const msn = whole.filter((n) => text.includes(`part_${n}_0.m4s`)).at(-1)!;
    const partNames = [...text.matchAll(new RegExp(`URI="(part_${msn}_\\d+\\.m4s)"`, "g"))].map((m) => m[1]!);
    expect(partNames.length).toBe(5);
    const parts = await Promise.all(partNames.map((n) => bytesOf(`${video}/${n}`)));
    const segment = await bytesOf(`${video}/seg_${msn}.m4s`);
    expect(Buffer.from(Buffer.concat(parts)).equals(Buffer.from(segment))).toBe(true);
    const file = join(tmp.path, "segment.mp4");
    writeFileSync(file, Buffer.concat([await bytesOf(`${video}/init_0.mp4`), segment]));
    expect(ffprobeFrames(file)).toBe(FPS);
  });

  test("a flood of blocking reloads is bounded: past the limit 503 at once, the origin keeps answering", async () => {
    const hint = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
    const ahead = hint.part === 4 ? { msn: hint.msn + 2, part: 0 } : { msn: hint.msn + 1, part: hint.part + 1 };
    // Each on its own connection (a fetch client would queue some of them itself).
    const request = `GET /video/stream.m3u8?_HLS_msn=${ahead.msn}&_HLS_part=${ahead.part} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    const flood = Array.from({ length: 300 }, () => exchange(server.port, request).then((a) => parseAnswer(a).status));
    await Bun.sleep(150);
    const t0 = performance.now();
    const h = await rawGet(server.port, "/health");
    expect(h.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(500);
    const statuses = await Promise.all(flood);
    expect(statuses.filter((s) => s === 200).length).toBe(256);
    expect(statuses.filter((s) => s === 503).length).toBe(44);
  });

  test("a blocking reload the encoder cannot answer (ffmpeg stopped) ends in 503 after three target durations", async () => {
    const hint = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
    const ffmpeg = childPids(server.proc.pid);
    expect(ffmpeg.length).toBe(1);
    process.kill(ffmpeg[0]!, "SIGSTOP");
    try {
      const t0 = performance.now();
      const r = await fetch(`${video}/stream.m3u8?_HLS_msn=${hint.msn + 1}&_HLS_part=0`);
      const ms = performance.now() - t0;
      expect(r.status).toBe(503);
      expect(ms).toBeGreaterThanOrEqual(2900);
      expect(ms).toBeLessThan(4000);
    } finally {
      process.kill(ffmpeg[0]!, "SIGCONT");
    }
  }, 10_000);
  test("an encoder restart continues the numbering with a discontinuity and the new run's init segment", async () => {
    const before = hintOf(await (await fetch(`${video}/stream.m3u8`)).text());
    const ffmpeg = childPids(server.proc.pid);
    process.kill(ffmpeg[0]!, "SIGKILL");
    const text = await eventually(
      async () => (await fetch(`${video}/stream.m3u8`)).text(),
      (t) => /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init_1\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n(#EXT-X-PART:[^\n]+\n)*#EXTINF/.test(t),
      8000,
    );
    expect(childPids(server.proc.pid)).not.toEqual(ffmpeg);
    const after = [...text.matchAll(/^seg_(\d+)\.m4s$/gm)].map((m) => Number(m[1]));
    expect(after).toEqual(Array.from({ length: after.length }, (_, i) => after[0]! + i)); // no number skipped or reused
    const first = Number(/#EXT-X-MAP:URI="init_1\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n(?:#EXT-X-PART:[^\n]+\n)*#EXTINF:[^\n]+\nseg_(\d+)\.m4s/.exec(text)![1]);
    expect(first).toBeGreaterThanOrEqual(before.msn);
    const init = join(tmp.path, "init_1.mp4");
    const segment = join(tmp.path, "restarted.m4s");
    writeFileSync(init, await bytesOf(`${video}/init_1.mp4`));
    writeFileSync(segment, await bytesOf(`${video}/seg_${first}.m4s`));
    expect(probeSegmentPackets(init, segment, tmp.path).length).toBe(FPS); // a whole GOP: the restart began a segment
  }, 15_000);
});

describe("--format ll-dash", () => {
  let server: Served;
  beforeAll(async () => {
    server = serve(["--format", "ll-dash", "--size", "240p", "--fps", String(FPS), "--id", "lldash"]);
    await server.waitLive(15_000);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("the MPD: dynamic, SegmentTemplate@duration, availabilityTimeOffset, not complete, UTCTiming, a latency target", async () => {
    const text = await (await fetch(`${server.url}/video/stream.mpd`)).text();
    const mpd = parseMpd(text, `${server.url}/video/stream.mpd`);
    expect(mpd.type).toBe("dynamic");
    expect(mpd.utcTimings[0]).toEqual({ schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014", value: "/time/iso" });
    expect(mpd.serviceLatency?.targetMs).toBeGreaterThan(0);
    const rep = mpd.periods[0]!.adaptationSets[0]!.representations[0]!;
    expect(rep.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(rep.addressing).toMatchObject({ kind: "template", timeline: null, availabilityTimeComplete: false });
    const a = rep.addressing as { availabilityTimeOffsetS: number; duration: number; timescale: number };
    expect(a.duration / a.timescale).toBe(1);
    expect(a.availabilityTimeOffsetS).toBeCloseTo(1 - 1 / FPS, 3);
    const iso = await (await fetch(`${server.url}/time/iso`)).text();
    expect(Math.abs(Date.parse(iso) - Date.now())).toBeLessThan(1000);
  });

  test("the segment being written arrives chunk by chunk as its frames are made; ffprobe reads it whole", async () => {
    const url = `${server.url}/video/stream.mpd`;
    const mpd = parseMpd(await (await fetch(url)).text(), url);
    const period = mpd.periods.at(-1)!;
    const rep = period.adaptationSets[0]!.representations[0]!;
    // The newest segment the MPD makes available now is the one still being written (availabilityTimeOffset).
    const newest = listAvailableSegments(mpd, period, rep, Date.now()).at(-1)!;
    const r = await timedBody(newest.url);
    expect(r.status).toBe(200);
    expect(r.chunks.length).toBeGreaterThanOrEqual(10);
    const spreadMs = r.chunks.at(-1)!.atMs - r.chunks[0]!.atMs;
    expect(spreadMs).toBeGreaterThanOrEqual(300);
    expect(r.endMs).toBeLessThanOrEqual(1500);
    const file = join(tmp.path, "dash-segment.mp4");
    writeFileSync(file, Buffer.concat([await bytesOf(`${server.url}/video/init_0.mp4`), r.body]));
    expect(ffprobeFrames(file)).toBe(FPS);
  });
});

test("--push with ll-hls: the ingest receives an MPEG-TS stream while the origin serves its parts", async () => {
  const sock = createSocket("udp4");
  const packets: Buffer[] = [];
  sock.on("message", (m) => packets.push(m));
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  const server = serve(["--format", "ll-hls", "--size", "240p", "--id", "llpush", "--push", `udp://127.0.0.1:${sock.address().port}`]);
  try {
    await server.waitLive(15_000);
    const text = await (await fetch(`${server.url}/video/stream.m3u8`)).text();
    expect(text).toContain("#EXT-X-PART:");
    await eventually(async () => packets.length, (n) => n >= 20, 5000);
    // MPEG-TS: 188-byte packets, each starting with the sync byte (datagrams need not break at a packet).
    const bytes = Buffer.concat(packets);
    const strides = Math.floor(bytes.length / 188) - 1;
    const synced = (o: number) => Array.from({ length: strides }, (_, i) => bytes[o + i * 188]).filter((b) => b === 0x47).length;
    const best = Math.max(...Array.from({ length: 188 }, (_, o) => synced(o)));
    expect(best).toBeGreaterThanOrEqual(strides * 0.99);
  } finally {
    await server.stop();
    sock.close();
  }
}, 30_000);

test.each([
  [["--format", "ll-hls", "--part", "5ms"], /part length '5ms' is out of range: use 33 ms \(one frame at 30 fps\) to 500 ms/],
  [["--format", "ll-dash", "--part", "2s"], /part length '2s' is out of range/],
  [["--format", "ll-hls", "--part", "soon"], /part length 'soon' is not a duration/],
  [["--format", "hls", "--part", "200ms"], /--part is for --format ll-hls or ll-dash/],
  [["--format", "ll-hls", "--ladder", "480p,240p"], /--ladder works with --format hls, cmaf, dash: ll-hls serves one rendition/],
])("vat serve %p → exit 2 and one line", async (args, message) => {
  const r = await vat(["serve", "--port", "0", ...(args as string[])]);
  expect(r.exitCode).toBe(2);
  expect(r.stderr.trim().split("\n").length).toBe(1);
  expect(r.stderr).toMatch(message as RegExp);
});

// The whole origin paused (SIGSTOP) for a known 3 s: its clock runs on, so it skips those frames on waking while the
// encoder's timestamps carry on without the gap. What it serves afterwards must stay on the wall clock.
const PAUSE_MS = 3000;

/**
 * After afterMs, pauses the vat serve process (not its ffmpeg) for PAUSE_MS and lets it run on; checks it then said it
 * skipped those frames. Returns when it ran again.
 */
async function pauseOrigin(server: Served, afterMs: number): Promise<number> {
  await Bun.sleep(afterMs);
  process.kill(server.proc.pid, "SIGSTOP");
  try {
    await Bun.sleep(PAUSE_MS);
  } finally {
    process.kill(server.proc.pid, "SIGCONT");
  }
  const resumedAtMs = Date.now();
  const skipped = await eventually(async () => skippedByOrigin(server), (n) => n > 0, 2000);
  expect(skipped).toBeGreaterThanOrEqual(((PAUSE_MS - 500) * FPS) / 1000);
  return resumedAtMs;
}

/** Each listed segment's number and EXT-X-PROGRAM-DATE-TIME, and whether it is whole. */
function datedSegments(playlist: string): { msn: number; dateMs: number; complete: boolean }[] {
  const first = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m.exec(playlist)![1]);
  const blocks = playlist.split(/^#EXT-X-PROGRAM-DATE-TIME:/m).slice(1);
  return blocks.map((b, i) => ({ msn: first + i, dateMs: Date.parse(b.slice(0, b.indexOf("\n"))), complete: /^seg_\d+\.m4s$/m.test(b) }));
}

test(
  "ll-hls: after the origin skipped 3 s of frames, every segment is dated by its first frame's own time; a client across the pause sees one stall and true latency after it",
  async () => {
    const server = serve(["--format", "ll-hls", "--size", "240p", "--fps", String(FPS), "--id", "llgap", "--part", `${PART_MS}ms`]);
    try {
      await server.waitLive(15_000);
      const db = join(tmp.path, "gap-hls.db");
      const run = client(["--url", `${server.url}/video/stream.m3u8`, "--duration", "12s", "--db", db, "--json"]);
      const resumedAtMs = await pauseOrigin(server, 3500);
      // Two segments on: the next segments are made after the gap.
      await Bun.sleep(2500);
      const playlist = await (await fetch(`${server.url}/video/stream.m3u8`)).text();
      const nowMs = Date.now();
      const dated = datedSegments(playlist);
      // The newest segment (the one being written) began within a segment's length of now, not 3 s before.
      const newest = dated.at(-1)!;
      expect(nowMs - newest.dateMs).toBeGreaterThanOrEqual(0);
      expect(nowMs - newest.dateMs).toBeLessThanOrEqual(1000 + 300);
      const after = dated.filter((s) => s.dateMs >= resumedAtMs);
      expect(after.length).toBeGreaterThanOrEqual(2);

      const r = await run;
      expect(r.exitCode).toBe(0);
      const d = openDb(db);
      const frames = d.query("SELECT frame_number AS n, generated_at_ms AS madeMs, latency_ms AS latencyMs FROM frames WHERE kind = 'new' ORDER BY idx").all() as { n: number; madeMs: number; latencyMs: number }[];
      const stalls = d.query("SELECT duration_ms AS ms FROM events WHERE kind = 'stall' ORDER BY at_ms").all() as { ms: number }[];
      d.close();
      // Each segment's date is exactly the time in its first frame's code, read by the client: the first frame made
      // at or after that date carries it.
      const madeTimes = frames.map((f) => f.madeMs).sort((a, b) => a - b);
      for (const s of dated.filter((x) => x.dateMs >= madeTimes[0]! && x.dateMs <= madeTimes.at(-1)!)) {
        expect(madeTimes.find((t) => t >= s.dateMs)).toBe(s.dateMs);
      }
      // One stall of about the pause (less what the client had buffered), and latency after it as before it.
      expect(stalls.filter((s) => s.ms >= PAUSE_MS - 1000).length).toBe(1);
      const late = frames.filter((f) => f.madeMs >= resumedAtMs + 1500).map((f) => f.latencyMs).sort((a, b) => a - b);
      expect(late.length).toBeGreaterThan(60);
      expect(late[Math.floor(late.length / 2)]!).toBeLessThanOrEqual(1000);
      expect(late[0]!).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  },
  40_000,
);

test(
  "ll-dash: after the origin skipped 3 s of frames, a new period starts at the next segment and the newest segment is there when the MPD says; a client plays on",
  async () => {
    const server = serve(["--format", "ll-dash", "--size", "240p", "--fps", String(FPS), "--id", "llgapdash"]);
    try {
      await server.waitLive(15_000);
      const db = join(tmp.path, "gap-dash.db");
      const run = client(["--url", `${server.url}/video/stream.mpd`, "--duration", "12s", "--db", db, "--json"]);
      const resumedAtMs = await pauseOrigin(server, 2500);
      const url = `${server.url}/video/stream.mpd`;
      const text = await eventually(async () => (await fetch(url)).text(), (t) => parseMpd(t, url).periods.length >= 2, 4000);
      const mpd = parseMpd(text, url);
      const [before, gap] = mpd.periods.slice(-2);
      // The period before stops where its media does; the new one starts after the pause, at its first frame.
      expect(before!.durationS).not.toBeNull();
      expect(gap!.startS - (before!.startS + before!.durationS!)).toBeGreaterThanOrEqual((PAUSE_MS - 700) / 1000);
      expect(mpd.availabilityStartTimeMs! + gap!.startS * 1000).toBeGreaterThanOrEqual(resumedAtMs - 50);
      const rep = gap!.adaptationSets[0]!.representations[0]!;
      // Wait for the segment after the one now available to become available by the MPD, then ask for it at once: it
      // is being written (its first chunk comes at once), not seconds away.
      await Bun.sleep(1200);
      const now = Date.now();
      const newest = listAvailableSegments(mpd, gap!, rep, now).at(-1)!;
      const t0 = performance.now();
      const r = await timedBody(newest.url);
      expect(r.status).toBe(200);
      expect(r.body.length).toBeGreaterThan(0);
      expect(r.chunks[0]!.atMs).toBeLessThanOrEqual(300);
      expect(performance.now() - t0).toBeLessThanOrEqual(1500);
      // Nothing newer is due yet: the next number is not being written.
      const next = await fetch(newest.url.replace(/seg_(\d+)/, (_, n) => `seg_${Number(n) + 2}`));
      expect(next.status).toBe(404);

      // A client across the pause asks for what the old MPD promised only until the new period is out (the origin
      // could not say sooner), then reads every segment again.
      expect((await run).exitCode).toBe(0);
      const d = openDb(db);
      const missing = d.query("SELECT count(*) AS n FROM events WHERE kind = 'segment-missing'").get() as { n: number };
      const after = d.query("SELECT count(*) AS n FROM frames WHERE kind = 'new' AND generated_at_ms >= ?").get(resumedAtMs + 1500) as { n: number };
      d.close();
      expect(missing.n).toBeLessThanOrEqual(3);
      expect(after.n).toBeGreaterThanOrEqual(3 * FPS);
    } finally {
      await server.stop();
    }
  },
  30_000,
);
