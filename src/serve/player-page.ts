/** The origin's front page: plays the stream in a browser with hls.js (served by the origin itself, no CDN). */
export function playerPage(): string {
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
<p>Stream: <a href="/video/stream.m3u8">/video/stream.m3u8</a> · <a href="/params">/params</a> ·
<a href="/health">/health</a></p>
<pre id="s">loading…</pre>
<script src="/hls.min.js"></script>
<script>
  const video = document.getElementById("v");
  const src = "/video/stream.m3u8";
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else {
    video.src = src;
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
