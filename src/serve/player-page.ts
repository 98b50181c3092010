import type { StreamFormat } from "./stream-format.ts";

/** What the page needs to know of the stream (the keys of /params' `vat`). */
export interface PlayerStream {
  format: StreamFormat;
  segmentS: number;
  /** The low-latency formats' part length (null for the others). */
  partS?: number | null;
}

/**
 * The players' settings for a stream, as literal script text. Plain HLS/DASH: held a margin of segments behind the
 * live edge. Low latency: hls.js's lowLatencyMode aims at the playlist's PART-HOLD-BACK (so no liveSyncDuration of
 * our own) and loads parts with blocking reloads; dash.js turns its low-latency mode on by itself for an MPD with
 * availabilityTimeOffset / availabilityTimeComplete=false, aims at the ServiceDescription's latency target and
 * catches up on it by playback rate (its default mode), reading each segment's chunks as they arrive.
 */
export function playerSettings(stream: PlayerStream): { hls: Record<string, unknown>; dash: Record<string, unknown>; delayS: number | null } {
  const { format, segmentS } = stream;
  if (format === "ll-hls" || format === "ll-dash") {
    // hls.js aims at PART-HOLD-BACK (three parts, given here as liveSyncDuration so that a ceiling may be set too).
    // It starts at a segment's keyframe, anywhere up to a segment behind that target, and catches up by playing
    // faster (up to 1.25x) only while over a second is buffered: it settles at about a second. Past the ceiling (the
    // target plus a segment, 1.6 s) it jumps back to the target, which a slow join on a loaded machine needed (2.3 s
    // held for a whole run otherwise); a lower ceiling made it jump mid-run after a hiccup. An infinite MediaSource duration: hls.js otherwise moves
    // the duration to the playlist's end at every reload, under a second ahead of the playhead, and Chromium then
    // waited for a few ms every few seconds with plenty buffered (none in 3 × 20 s without it). No extra target after
    // a stall: hls.js would add a second for each few-ms wait of the join and hold it for the rest of the run.
    const holdBackS = 3 * (stream.partS ?? 0.2);
    return {
      hls: {
        lowLatencyMode: true,
        liveSyncDuration: holdBackS,
        liveMaxLatencyDuration: holdBackS + segmentS,
        maxLiveSyncPlaybackRate: 1.25,
        liveDurationInfinity: true,
        liveSyncOnStallIncrease: 0,
        backBufferLength: 10,
      },
      dash: { streaming: { liveCatchup: { enabled: true }, retryIntervals: { MediaSegment: 100 }, retryAttempts: { MediaSegment: 10 } } },
      delayS: null,
    };
  }
  // How far behind the live edge the player holds. hls.js: a segment and a half (the next segment is due before that
  // buffer runs out; a whole segment would stall each time a playlist reload lands late). dash.js computes segments
  // from the clock and fetches each at its due time, so it wants more margin: three segments (its own default is 4).
  const hlsDelayS = 1.5 * segmentS;
  const dashDelayS = 3 * segmentS;
  return {
    hls: { lowLatencyMode: true, liveSyncDuration: hlsDelayS, liveMaxLatencyDuration: 4 * hlsDelayS },
    // dash.js reports a stall (bufferStalled, 0.3 s or less buffered) and looks for a segment that is not yet due
    // every 500 ms: the latency must exceed a segment by more than both. A stream younger than its liveDelay it starts
    // at the first segment, holding the stream's age as latency (1 s just after vat serve is up), and the element's
    // autoplay starts it with one segment buffered. So dash.js starts playback itself (the page turns the element's
    // autoplay off), once all but one segment of the delay is buffered (at an older stream that much is there at once:
    // the delay less the newest segment's progress); it looks every 100 ms, and asks again soon after a 404 (a segment
    // is due by the MPD's clock within a few tens of ms of ffmpeg renaming it into place). No catch-up: it would play
    // slower than real time to reach the target, or seek.
    dash: {
      streaming: {
        delay: { liveDelay: dashDelayS, useSuggestedPresentationDelay: false },
        liveCatchup: { enabled: false },
        buffer: { initialBufferLevel: dashDelayS - segmentS },
        scheduling: { defaultTimeout: 100 },
        retryIntervals: { MediaSegment: 100 },
        retryAttempts: { MediaSegment: 10 },
      },
    },
    delayS: format === "dash" ? dashDelayS : hlsDelayS,
  };
}

/**
 * The origin's front page: plays the stream in a browser, HLS and CMAF with hls.js, DASH with dash.js (both served by
 * the origin itself, no CDN). The player is kept on `window.vatPlayer` (`{ kind, hls | dash }`) for whoever drives the
 * page, e.g. to read the live latency the player reports.
 */
export function playerPage(manifestPath: string, stream: PlayerStream): string {
  const dash = manifestPath.endsWith(".mpd");
  const src = JSON.stringify(manifestPath);
  const settings = playerSettings(stream);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vat origin</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem; background: #111; color: #eee; }
  video { width: min(100%, 960px); background: #000; }
  pre { background: #222; padding: 0.5rem; max-width: 960px; overflow: auto; }
</style>
</head>
<body>
<h1>vat origin</h1>
<video id="v" controls muted autoplay playsinline></video>
<p>Stream: <a href="${manifestPath}">${manifestPath}</a> · <a href="/params">/params</a> ·
<a href="/health">/health</a></p>
<pre id="s">loading…</pre>
<script src="${dash ? "/dash.mediaplayer.min.js" : "/hls.min.js"}"></script>
<script>
  const video = document.getElementById("v");
  const src = ${src};
  // Settings from src/serve/player-page.ts (playerSettings): why each is set is said there.
  const delayS = ${JSON.stringify(settings.delayS)};
  if (${dash}) {
    const dash = dashjs.MediaPlayer().create();
    // Plain DASH: dash.js starts playback itself (playerSettings says why), not the element's autoplay.
    if (${stream.format === "dash"}) video.autoplay = false;
    dash.updateSettings(${JSON.stringify(settings.dash)});
    dash.initialize(video, src, true);
    window.vatPlayer = { kind: "dash", dash, delayS };
  } else if (window.Hls && Hls.isSupported()) {
    const hls = new Hls(${JSON.stringify(settings.hls)});
    hls.loadSource(src);
    hls.attachMedia(video);
    window.vatPlayer = { kind: "hls", hls, delayS };
  } else {
    video.src = src;
    window.vatPlayer = { kind: "native" };
  }
  async function poll() {
    try {
      const r = await fetch("/health");
      document.getElementById("s").textContent = JSON.stringify(await r.json(), null, 2);
    } catch (e) {
      document.getElementById("s").textContent = String(e);
    }
  }
  poll();
  setInterval(poll, 2000);
</script>
</body>
</html>
`;
}
