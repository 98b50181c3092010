import { describe, expect, test } from "bun:test";
import {
  checkProvidersFile, parseProvidersFile, parseVariantChoice, redactUrl, type ProvidersFile, type VariantChoice,
} from "../../src/compare/providers.ts";
import { findSyntaxPosition } from "../../src/compare/syntax-position.ts";
import { VatError } from "../../src/errors.ts";

const ENV = { NGINX_KEY: "k3y-n0t-for-eyes", SRT_PASS: "pa55phrase-secret", CDN_TOKEN: "t0ken-secret" };
const SECRETS = Object.values(ENV);

const FULL_TOML = `# two providers
[[provider]]
name = "nginx-rtmp"
ingest = "rtmp://127.0.0.1:1935/live/\${NGINX_KEY}"
playback = ["http://127.0.0.1:8080/hls/stream.m3u8", "http://127.0.0.1:8080/dash/stream.mpd"]
variant = "highest"
price_per_minute_delivered = 0.0015
price_per_minute_ingested = 0.03
price_per_gb = 0.085
start_timeout = "30s"

[[provider]]
name = "srt_1"
ingest = "srt://127.0.0.1:9000?mode=caller&latency=120000&passphrase=\${SRT_PASS}"
playback = "https://cdn.example.com/srt/stream.m3u8?token=\${CDN_TOKEN}"
variant = 2
`;

const FULL_JSON = JSON.stringify({
  provider: [
    {
      name: "nginx-rtmp",
      ingest: "rtmp://127.0.0.1:1935/live/${NGINX_KEY}",
      playback: ["http://127.0.0.1:8080/hls/stream.m3u8", "http://127.0.0.1:8080/dash/stream.mpd"],
      variant: "highest",
      price_per_minute_delivered: 0.0015,
      price_per_minute_ingested: 0.03,
      price_per_gb: 0.085,
      start_timeout: "30s",
    },
    {
      name: "srt_1",
      ingest: "srt://127.0.0.1:9000?mode=caller&latency=120000&passphrase=${SRT_PASS}",
      playback: "https://cdn.example.com/srt/stream.m3u8?token=${CDN_TOKEN}",
      variant: 2,
    },
  ],
}, null, 2);

/** What the full example reads as, with the URLs as they are shown. */
const FULL_SHOWN = {
  providers: [
    {
      name: "nginx-rtmp",
      ingest: "rtmp://127.0.0.1:1935/live/***",
      ingestScheme: "rtmp",
      playback: ["http://127.0.0.1:8080/hls/stream.m3u8", "http://127.0.0.1:8080/dash/stream.mpd"],
      variant: { kind: "highest" },
      price: { perMinuteDeliveredUsd: 0.0015, perMinuteIngestedUsd: 0.03, perGbUsd: 0.085 },
      startTimeoutMs: 30_000,
    },
    {
      name: "srt_1",
      ingest: "srt://127.0.0.1:9000?mode=caller&latency=120000&passphrase=***",
      ingestScheme: "srt",
      playback: ["https://cdn.example.com/srt/stream.m3u8?token=***"],
      variant: { kind: "index", index: 2 },
      price: { perMinuteDeliveredUsd: null, perMinuteIngestedUsd: null, perGbUsd: null },
      startTimeoutMs: null,
    },
  ],
};

function read(text: string, file: string, env: Record<string, string> = ENV): ProvidersFile {
  return parseProvidersFile(text, file, env);
}

function errorsOf(text: string, file: string, env: Record<string, string> = ENV): string[] {
  const r = checkProvidersFile(text, file, env);
  if (r.ok) throw new Error(`expected errors, got ${JSON.stringify(r.file)}`);
  return r.errors;
}

describe("providers file", () => {
  test.each([
    ["providers.toml", FULL_TOML],
    ["providers.json", FULL_JSON],
    ["UPPER.TOML", FULL_TOML],
  ])("%s reads to typed providers, secrets from the environment", (file, text) => {
    const parsed = read(text, file);
    expect(parsed.file).toBe(file);
    expect(JSON.parse(JSON.stringify({ providers: parsed.providers }))).toEqual(FULL_SHOWN);
    const [nginx, srt] = parsed.providers;
    expect(nginx!.ingest.reveal()).toBe(`rtmp://127.0.0.1:1935/live/${ENV.NGINX_KEY}`);
    expect(srt!.ingest.reveal()).toBe(`srt://127.0.0.1:9000?mode=caller&latency=120000&passphrase=${ENV.SRT_PASS}`);
    expect(srt!.playback[0]!.reveal()).toBe(`https://cdn.example.com/srt/stream.m3u8?token=${ENV.CDN_TOKEN}`);
  });

  test("no secret is in what is printed or serialised", () => {
    const parsed = read(FULL_TOML, "p.toml");
    const shown = [JSON.stringify(parsed), Bun.inspect(parsed), String(parsed.providers[0]!.ingest), `${parsed.providers[1]!.playback[0]}`];
    for (const text of shown) for (const secret of SECRETS) expect(text).not.toContain(secret);
    // Nor in an error about the same file: every other problem is reported without the values.
    const broken = FULL_TOML.replace('variant = 2', 'variant = "best"\nprice_per_gb = "cheap"');
    for (const line of errorsOf(broken, "p.toml")) for (const secret of SECRETS) expect(line).not.toContain(secret);
  });

  test("a literal stream key, password or token in the file is redacted as well", () => {
    const text = `[[provider]]
name = "literal"
ingest = "rtmps://user:hunter2@live.example.com:443/app/sk_live_123?auth=xyz"
playback = ["https://cdn.example.com/a.m3u8?sig=abc&exp=1", "http://cdn.example.com/b.mpd#t=frag"]
`;
    const [p] = read(text, "p.toml").providers;
    expect(p!.ingest.display).toBe("rtmps://user:***@live.example.com:443/app/***?auth=***");
    expect(p!.playback.map((u) => u.display)).toEqual(["https://cdn.example.com/a.m3u8?sig=***&exp=***", "http://cdn.example.com/b.mpd"]);
    expect(p!.ingest.reveal()).toBe("rtmps://user:hunter2@live.example.com:443/app/sk_live_123?auth=xyz");
  });

  test.each([
    ["providers.yaml", "a file with the wrong extension", "providers.yaml: a providers file is .toml or .json, not '.yaml'"],
    ["providers", "no extension", "providers: a providers file is .toml or .json, not '(none)'"],
    [".toml", "a hidden file without a name", ".toml: a providers file is .toml or .json, not '(none)'"],
  ])("%s (%s) is refused", (file, _why, expected) => {
    expect(errorsOf(FULL_TOML, file)).toEqual([expected]);
  });

  test.each([
    [
      "p.toml", "an unquoted URL",
      '[[provider]]\nname = "a"\ningest = rtmp://h/live/k\n',
      'p.toml, line 3, column 13: not valid TOML: Strings must be quoted: "rtmp"',
    ],
    [
      "p.toml", "a key given twice",
      '[[provider]]\nname = "a"\nname = "b"\n',
      "p.toml, line 3, column 10: not valid TOML: Cannot redefine key 'name'",
    ],
    [
      "p.toml", "an unclosed header",
      '[[provider]\nname = "a"\n',
      "p.toml, line 1, column 12: not valid TOML: Expected ']]' to close an array-of-tables header but found (0x0A)",
    ],
    [
      "p.toml", "an unclosed list running into the next key",
      '[[provider]]\nplayback = ["http://h/a.m3u8",\nname = "a"\n',
      "p.toml, line 3, column 4: not valid TOML: Strings must be quoted: \"name\"",
    ],
    [
      "p.json", "a trailing comma",
      '{\n  "provider": [\n    {"name": "a",}\n  ]\n}',
      "p.json, line 3, column 18: not valid JSON: Property name must be a string literal",
    ],
    [
      "p.json", "single quotes",
      "{\n  \"provider\": [{'name': 'a'}]\n}",
      "p.json, line 2, column 17: not valid JSON: Single quotes (') are not allowed in JSON",
    ],
    [
      "p.json", "a file that stops early",
      '{\n  "provider": [\n    {"name": "a"}\n',
      "p.json, line 3, column 18: not valid JSON: Expected ']'",
    ],
    ["p.json", "an empty file", "", "p.json, line 1, column 1: not valid JSON: Unexpected EOF"],
  ])("%s with %s: the line and column of the syntax error", (file, _why, text, expected) => {
    expect(errorsOf(text, file)).toEqual([expected]);
  });

  const ok = 'name = "a"\ningest = "rtmp://h/live/k"\nplayback = "http://h/s.m3u8"\n';
  test.each([
    ["no provider at all", "# nothing yet\n", ["p.toml: no providers: write one [[provider]] table per provider"]],
    [
      "a single [provider] table",
      `[provider]\n${ok}`,
      ["p.toml: 'provider' must be a list: write one [[provider]] table per provider"],
    ],
    [
      "an unknown top-level key",
      `title = "x"\n[[provider]]\n${ok}`,
      ["p.toml: unknown key 'title' at the top: the only one is 'provider' (one [[provider]] table per provider)"],
    ],
    [
      "an unknown key",
      `[[provider]]\n${ok}ingset = "rtmp://h/live/k"\n`,
      [
        "p.toml: provider 1 'a': unknown key 'ingset': valid keys are name, ingest, playback, variant, " +
        "price_per_minute_delivered, price_per_minute_ingested, price_per_gb, start_timeout",
      ],
    ],
    [
      "a missing playback",
      '[[provider]]\nname = "a"\ningest = "rtmp://h/live/k"\n',
      ["p.toml: provider 1 'a': missing playback: one http(s):// URL or a list of them"],
    ],
    [
      "a missing name and ingest",
      '[[provider]]\nplayback = "http://h/s.m3u8"\n',
      [
        "p.toml: provider 1: missing name: 1 to 32 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        "p.toml: provider 1: missing ingest: an rtmp://, rtmps:// or srt:// URL",
      ],
    ],
    [
      "an unsupported ingest scheme (its key still redacted)",
      '[[provider]]\nname = "a"\ningest = "udp://h:9000/live/k"\nplayback = "http://h/s.m3u8"\n',
      ["p.toml: provider 1 'a': ingest udp://h:9000/live/*** is not supported: use an rtmp://, rtmps:// or srt:// URL"],
    ],
    [
      "an SRT ingest without a port",
      '[[provider]]\nname = "a"\ningest = "srt://h?mode=caller"\nplayback = "http://h/s.m3u8"\n',
      ["p.toml: provider 1 'a': ingest srt://h?mode=caller has no port: SRT needs srt://HOST:PORT"],
    ],
    [
      "a playback that is not http(s)",
      '[[provider]]\nname = "a"\ningest = "rtmp://h/live/k"\nplayback = ["http://h/s.m3u8", "rtmp://h/play"]\n',
      ["p.toml: provider 1 'a': playback 2 rtmp://h/play is not an http:// or https:// URL"],
    ],
    [
      "an empty playback list",
      '[[provider]]\nname = "a"\ningest = "rtmp://h/live/k"\nplayback = []\n',
      ["p.toml: provider 1 'a': playback must be an http(s):// URL or a non-empty list of them, not a list"],
    ],
    [
      "an unset environment variable",
      '[[provider]]\nname = "a"\ningest = "rtmp://h/live/${MISSING_KEY}"\nplayback = "http://h/s.m3u8?t=${EMPTY}"\n',
      [
        "p.toml: provider 1 'a': ingest: environment variable MISSING_KEY is not set",
        "p.toml: provider 1 'a': playback: environment variable EMPTY is not set",
      ],
    ],
    [
      "a malformed reference",
      '[[provider]]\nname = "a"\ningest = "rtmp://h/live/${KEY-1}"\nplayback = "http://h/${OPEN"\n',
      [
        "p.toml: provider 1 'a': ingest: '${KEY-1}' is not a variable reference: write ${NAME} with letters, digits and '_'",
        "p.toml: provider 1 'a': playback: an unclosed '${': write ${NAME}",
      ],
    ],
    [
      "wrong types",
      '[[provider]]\nname = 7\ningest = ["rtmp://h/live/k"]\nplayback = "http://h/s.m3u8"\nprice_per_gb = "0.08"\n' +
        'price_per_minute_delivered = -0.5\nstart_timeout = true\nvariant = 1.5\n',
      [
        "p.toml: provider 1: name must be a string (1 to 32 lowercase letters, digits, '-' or '_', starting with a letter or digit), not number 7",
        "p.toml: provider 1: ingest must be a string (an rtmp://, rtmps:// or srt:// URL), not a list",
        "p.toml: provider 1: variant number 1.5 is not valid: use highest, lowest, a bandwidth like 2500kbps or 2.5Mbps, a resolution like 1280x720 or 720p, or an index like 0",
        "p.toml: provider 1: price_per_minute_delivered must be a non-negative number of USD, not number -0.5",
        'p.toml: provider 1: price_per_gb must be a non-negative number of USD, not string "0.08"',
        'p.toml: provider 1: start_timeout must be a duration like "30s" or "2m", not boolean true',
      ],
    ],
    [
      "a bad duration",
      `[[provider]]\n${ok}start_timeout = "soon"\n`,
      ["p.toml: provider 1 'a': start_timeout 'soon' is not a duration: use a number of seconds or e.g. 250ms, 20s, 5m, 2h"],
    ],
    [
      "names that are not slugs, reserved or repeated",
      `[[provider]]\n${ok}\n[[provider]]\n${ok.replace('"a"', '"My CDN"')}\n[[provider]]\n${ok.replace('"a"', '"control"')}\n` +
        `[[provider]]\n${ok}`,
      [
        "p.toml: provider 2 'My CDN': name 'My CDN' is not valid: 1 to 32 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        "p.toml: provider 3 'control': name 'control' is the origin's own stream in a comparison: choose another",
        "p.toml: provider 4 'a': name 'a' is already used by provider 1: names must be unique",
      ],
    ],
  ])("%s", (_why, text, expected) => {
    expect(errorsOf(text, "p.toml", { ...ENV, EMPTY: "" })).toEqual(expected);
  });

  test("JSON schema errors name the provider and key the same way", () => {
    expect(errorsOf('{"provider": [{"name": "a", "ingest": "rtmp://h/live/k"}, "x"]}', "p.json")).toEqual([
      "p.json: provider 1 'a': missing playback: one http(s):// URL or a list of them",
      'p.json: provider 2: must be a table of name, ingest, playback, variant, price_per_minute_delivered, price_per_minute_ingested, price_per_gb, start_timeout, not string "x"',
    ]);
    expect(errorsOf("[1]", "p.json")).toEqual(['p.json: the file must hold an object with a "provider" array']);
    expect(errorsOf('{"provider": {"name": "a"}}', "p.json")).toEqual(['p.json: \'provider\' must be a list: write an object with a "provider" array']);
  });

  test("parseProvidersFile throws bad input, one line per problem", () => {
    let caught: unknown;
    try {
      read('[[provider]]\nname = "a"\n', "p.toml");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VatError);
    expect((caught as VatError).kind).toBe("bad-input");
    expect((caught as VatError).message.split("\n")).toEqual([
      "p.toml: provider 1 'a': missing ingest: an rtmp://, rtmps:// or srt:// URL",
      "p.toml: provider 1 'a': missing playback: one http(s):// URL or a list of them",
    ]);
  });
});

describe("variant choice", () => {
  test.each<[unknown, VariantChoice | null]>([
    ["highest", { kind: "highest" }],
    ["LOWEST", { kind: "lowest" }],
    ["2500kbps", { kind: "bandwidth", bitsPerS: 2_500_000 }],
    ["2.5Mbps", { kind: "bandwidth", bitsPerS: 2_500_000 }],
    ["800000bps", { kind: "bandwidth", bitsPerS: 800_000 }],
    ["1280x720", { kind: "resolution", width: 1280, height: 720 }],
    ["720p", { kind: "resolution", width: null, height: 720 }],
    [0, { kind: "index", index: 0 }],
    ["3", { kind: "index", index: 3 }],
    [-1, null],
    [1.5, null],
    ["0x720", null],
    ["0kbps", null],
    ["best", null],
    [true, null],
  ])("%p", (value, expected) => {
    expect(parseVariantChoice(value)).toEqual(expected);
  });
});

describe("redacted URLs", () => {
  test.each([
    ["rtmp://a.rtmp.youtube.com/live2/xxxx-yyyy-zzzz", "ingest", "rtmp://a.rtmp.youtube.com/live2/***"],
    ["rtmp://h/live", "ingest", "rtmp://h/live"],
    ["rtmp://h/live/", "ingest", "rtmp://h/live/"],
    ["rtmps://u:p@h:443/app/key", "ingest", "rtmps://u:***@h:443/app/***"],
    ["srt://h:9000?streamid=#!::r=live/key,m=publish&latency=200", "ingest", "srt://h:9000?streamid=***&latency=200"],
    ["srt://h:9000", "ingest", "srt://h:9000"],
    ["https://cdn/x/stream.m3u8", "playback", "https://cdn/x/stream.m3u8"],
    ["https://cdn/x/stream.m3u8?token=abc&flag", "playback", "https://cdn/x/stream.m3u8?token=***&flag"],
    ["not a url", "ingest", "***"],
  ] as const)("%s (%s)", (url, role, expected) => {
    expect(redactUrl(url, role)).toBe(expected);
  });
});

describe("syntax positions", () => {
  test("the place the parser first fails, whatever follows it; the end when the text stops early", () => {
    expect(findSyntaxPosition('{"a": 1}', JSON.parse)).toBeNull();
    expect(findSyntaxPosition('{"a": 1,\n  x: 2}', JSON.parse)).toEqual({ line: 2, column: 3 });
    expect(findSyntaxPosition('[1, 2', JSON.parse)).toEqual({ line: 1, column: 6 });
    expect(findSyntaxPosition("a = 1\n\n   b = = 2\n", Bun.TOML.parse)).toEqual({ line: 3, column: 8 });
  });
});
