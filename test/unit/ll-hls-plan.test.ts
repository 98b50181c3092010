import { describe, expect, test } from "bun:test";
import { parseMediaPlaylist } from "../../src/hls/playlist.ts";
import { hintAddress, isAfter, joinPart, lastListedPart, partAfter, partAvailableAtMs, partStep, reached, reloadUrl } from "../../src/client/ll-hls-plan.ts";

/** A live LL-HLS playlist: segments 10-11 whole (5 parts of 0.2 s each, the first independent), 12 being written. */
function playlist(openParts: number, o: { hint?: boolean; skip?: boolean; holdBack?: number } = {}) {
  const lines = [
    "#EXTM3U",
    "#EXT-X-TARGETDURATION:1",
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${o.holdBack ?? 0.6}${o.skip ? ",CAN-SKIP-UNTIL=6" : ""}`,
    "#EXT-X-PART-INF:PART-TARGET=0.2",
    "#EXT-X-MEDIA-SEQUENCE:10",
    '#EXT-X-MAP:URI="init.mp4"',
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T12:00:00.000Z",
  ];
  const parts = (msn: number, n: number) => {
    for (let i = 0; i < n; i++) lines.push(`#EXT-X-PART:DURATION=0.2,URI="p${msn}.${i}.m4s"${i === 0 ? ",INDEPENDENT=YES" : ""}`);
  };
  for (const msn of [10, 11]) {
    parts(msn, 5);
    lines.push("#EXTINF:1.0,", `s${msn}.m4s`);
  }
  parts(12, openParts);
  if (o.hint !== false) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p12.${openParts}.m4s"`);
  return parseMediaPlaylist(lines.join("\n"));
}

describe("which part comes next", () => {
  test("within a segment, then the next segment once the last part of a whole one is had", () => {
    const p = playlist(2);
    expect(partAfter(p, { msn: 11, part: 3 })).toEqual({ msn: 11, part: 4 });
    expect(partAfter(p, { msn: 11, part: 4 })).toEqual({ msn: 12, part: 0 });
    expect(partAfter(p, { msn: 12, part: 1 })).toEqual({ msn: 12, part: 2 });
  });

  test("the hint is the part after the last listed", () => {
    expect(hintAddress(playlist(2))).toEqual({ msn: 12, part: 2 });
    expect(hintAddress(playlist(0))).toEqual({ msn: 12, part: 0 });
  });

  test("listed parts are fetched whole, the hinted one as it is written, anything later waits for a reload", () => {
    const p = playlist(2);
    expect(partStep(p, { msn: 12, part: 1 })).toMatchObject({ kind: "listed", part: { uri: "p12.1.m4s" } });
    expect(partStep(p, { msn: 12, part: 2 })).toEqual({ kind: "hinted", uri: "p12.2.m4s", range: null });
    expect(partStep(p, { msn: 12, part: 3 })).toEqual({ kind: "reload" });
    expect(partStep(playlist(2, { hint: false }), { msn: 12, part: 2 })).toEqual({ kind: "reload" });
  });
});

describe("joining", () => {
  test("on the newest independent part within PART-HOLD-BACK of the edge", () => {
    // 12.0 starts 0.4 s behind the edge (two parts listed): within 0.6 s.
    expect(joinPart(playlist(2))).toMatchObject({ kind: "listed", part: { msn: 12, index: 0 } });
  });

  test("with none so close, on the first part of the next segment", () => {
    // 12.0 starts 0.8 s behind: too far; 11.0 further still.
    expect(joinPart(playlist(4))).toEqual({ kind: "wait", want: { msn: 13, part: 0 } });
    // Nothing of 12 yet: its first part is the next one written. 11.0 is 1.0 s behind.
    expect(joinPart(playlist(0))).toEqual({ kind: "wait", want: { msn: 12, part: 0 } });
    // A longer hold-back reaches back to 11.0.
    expect(joinPart(playlist(0, { holdBack: 1.0 }))).toMatchObject({ kind: "listed", part: { msn: 11, index: 0 } });
  });
});

describe("blocking reloads", () => {
  test("ask for the wanted part, as a delta update when the server offers them", () => {
    const url = "http://h:1/video/stream.m3u8?token=a&_HLS_msn=1";
    expect(reloadUrl(url, playlist(2), { msn: 12, part: 2 })).toBe("http://h:1/video/stream.m3u8?token=a&_HLS_msn=12&_HLS_part=2");
    expect(reloadUrl(url, playlist(2, { skip: true }), { msn: 12, part: 2 })).toBe(
      "http://h:1/video/stream.m3u8?token=a&_HLS_msn=12&_HLS_part=2&_HLS_skip=YES",
    );
  });

  test("an answer that lists neither the part nor anything later came early", () => {
    const p = playlist(2);
    expect(reached(p, { msn: 12, part: 1 })).toBe(true);
    expect(reached(p, { msn: 12, part: 2 })).toBe(false);
    expect(reached(p, { msn: 11, part: 7 })).toBe(true); // segment 11 is whole: it has no part 7
    expect(reached(p, { msn: 13, part: 0 })).toBe(false);
  });

  test("a part is available once its last frame's time has passed", () => {
    const p = playlist(2);
    const part = p.parts.find((x) => x.msn === 12 && x.index === 1)!;
    expect(partAvailableAtMs(part)).toBe(Date.parse("2026-12-01T12:00:00.000Z") + 2000 + 400);
  });
});

test("the order of parts, and the newest listed", () => {
  expect(isAfter({ msn: 12, part: 0 }, { msn: 11, part: 4 })).toBe(true);
  expect(isAfter({ msn: 11, part: 3 }, { msn: 11, part: 2 })).toBe(true);
  expect(isAfter({ msn: 11, part: 2 }, { msn: 11, part: 2 })).toBe(false);
  expect(isAfter({ msn: 11, part: 4 }, { msn: 12, part: 0 })).toBe(false);
  expect(lastListedPart(playlist(2))).toEqual({ msn: 12, part: 1 });
  expect(lastListedPart(parseMediaPlaylist("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"))).toBeNull();
});
