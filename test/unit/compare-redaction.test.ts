import { describe, expect, test } from "bun:test";
import { parseIngestFailure } from "../../src/compare/ingest-log.ts";
import { parseProvidersFile, ProviderUrl } from "../../src/compare/providers.ts";
import { secretParts, SecretRedactor } from "../../src/compare/redaction.ts";

const ENV = { KEY: "s3cr3t-key", TOKEN: "t0k3n-value" };
const FILE = `[[provider]]
name = "cdn"
ingest = "rtmp://ingest.example.com/live/\${KEY}"
playback = ["https://cdn.example.com/live/\${KEY}/index.m3u8?token=\${TOKEN}", "https://cdn.example.com/open.m3u8"]
`;

describe("secretParts", () => {
  test("what stands at each *** of the shown form", () => {
    expect(secretParts("rtmp://h/live/KEY", "rtmp://h/live/***")).toEqual(["KEY"]);
    expect(secretParts("https://h/a/KEY/i.m3u8?t=TOK&mode=x", "https://h/a/***/i.m3u8?t=***&mode=x")).toEqual(["KEY", "TOK"]);
    expect(secretParts("http://h/x", "http://h/x")).toEqual([]);
  });
});

describe("SecretRedactor", () => {
  const p = parseProvidersFile(FILE, "p.toml", ENV).providers[0]!;
  const r = new SecretRedactor([p.ingest, ...p.playback]);

  test("a whole URL becomes its shown form", () => {
    expect(r.redact(`measuring ${p.playback[0]!.reveal()} now`)).toBe("measuring https://cdn.example.com/live/***/index.m3u8?token=*** now");
  });

  test("a secret on its own is blanked wherever it is quoted (a segment URL repeating the key, ffmpeg's log)", () => {
    const line = "segment-missing: https://cdn.example.com/live/s3cr3t-key/seg-12.ts?token=t0k3n-value: HTTP 404";
    expect(r.redact(line)).toBe("segment-missing: https://cdn.example.com/live/***/seg-12.ts?token=***: HTTP 404");
    const ffmpeg = "[tee @ 0x1] Slave '[f=flv:onfail=ignore]rtmp://ingest.example.com/live/s3cr3t-key': error opening: Connection refused";
    expect(r.redact(ffmpeg)).toBe("[tee @ 0x1] Slave '[f=flv:onfail=ignore]rtmp://ingest.example.com/live/***': error opening: Connection refused");
  });

  test("no secret, nothing replaced; text without secrets unchanged", () => {
    expect(new SecretRedactor([new ProviderUrl("http://h/x.m3u8", "http://h/x.m3u8")]).replacements).toEqual([]);
    expect(r.redact("https://cdn.example.com/open.m3u8 is fine")).toBe("https://cdn.example.com/open.m3u8 is fine");
    for (const secret of Object.values(ENV)) expect(r.replacements.some(([s]) => s === secret)).toBe(true);
  });

  test("parts too short to be told from ordinary text are left to the whole-URL replacement", () => {
    const short = new SecretRedactor([new ProviderUrl("rtmp://h/live/stream", "rtmp://h/live/***")]);
    expect(short.redact("rtmp://h/live/stream into stream_data.db")).toBe("rtmp://h/live/*** into stream_data.db");
  });
});

describe("parseIngestFailure", () => {
  const urls = ["rtmp://127.0.0.1:1935/live/key", "srt://127.0.0.1:9000"];
  test("ffmpeg's tee names the output that failed to open", () => {
    expect(parseIngestFailure("ffmpeg: [tee @ 0x55e187ab7680] Slave '[f=flv:onfail=ignore]rtmp://127.0.0.1:1935/live/key': error opening: Connection refused", urls))
      .toEqual({ index: 0, reason: "error opening: Connection refused" });
  });
  test("a later failure names the output by its place after the origin's own HLS (#0)", () => {
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave muxer #2 failed: Broken pipe, continuing with 2/3 slaves.", urls))
      .toEqual({ index: 1, reason: "Broken pipe" });
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave muxer #0 failed: No space left on device, continuing with 2/3 slaves.", urls)).toBeNull();
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave muxer #3 failed: x, continuing with 2/3 slaves.", urls)).toBeNull();
  });
  test("as serve logs it, without the stream key: matched when the address names one ingest only", () => {
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave '[f=flv:onfail=ignore]rtmp://127.0.0.1:1935': error opening: Connection refused", urls))
      .toEqual({ index: 0, reason: "error opening: Connection refused" });
    const twoOnOneHost = ["rtmp://127.0.0.1:1935/live/a", "rtmp://127.0.0.1:1935/live/b"];
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave '[f=flv:onfail=ignore]rtmp://127.0.0.1:1935': error opening: x", twoOnOneHost)).toBeNull();
  });
  test("other lines, and other URLs, are not an ingest's failure", () => {
    expect(parseIngestFailure("ffmpeg: [tcp @ 0x1] Connection to tcp://127.0.0.1:1935?tcp_nodelay=0 failed: Connection refused", urls)).toBeNull();
    expect(parseIngestFailure("ffmpeg: [tee @ 0x1] Slave '[f=flv]rtmp://elsewhere/live/x': error opening: Connection refused", urls)).toBeNull();
  });
});
