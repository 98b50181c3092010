import { parseVariantChoice, VARIANT_RULE, type VariantChoice } from "../client/variants.ts";

export { parseVariantChoice, type VariantChoice } from "../client/variants.ts";
import { badInput } from "../errors.ts";
import { parseDurationMs } from "../units.ts";
import { findSyntaxPosition, positionAt, type SyntaxPosition } from "./syntax-position.ts";

/**
 * The providers file of `vat compare`: which providers' ingests the one encode is pushed to and where each plays it
 * back. Pure: text, file name and environment in; typed providers or one line per problem out.
 *
 * ```toml
 * [[provider]]
 * name = "nginx"
 * ingest = "rtmp://ingest.example.com/live/${STREAM_KEY}"
 * playback = ["https://cdn.example.com/live/stream.m3u8", "https://cdn.example.com/live/stream.mpd"]
 * variant = "highest"
 * price_per_minute_delivered = 0.0015
 * start_timeout = "30s"
 * ```
 * JSON holds the same as `{"provider": [{...}]}`.
 */

/** A URL that may hold a secret (a stream key, a passphrase, a token). Printing or serialising it gives the redacted form. */
export class ProviderUrl {
  readonly #url: string;

  constructor(
    url: string,
    /** The URL with its secret parts as `***`: what may be shown, logged or stored. */
    readonly display: string,
  ) {
    this.#url = url;
  }

  /** The URL itself, secrets included: only for handing to what connects (ffmpeg's push, the client's fetch). */
  reveal(): string {
    return this.#url;
  }

  toString(): string {
    return this.display;
  }

  toJSON(): string {
    return this.display;
  }
}

export interface ProviderPrice {
  perMinuteDeliveredUsd: number | null;
  perMinuteIngestedUsd: number | null;
  perGbUsd: number | null;
}

export type IngestScheme = "rtmp" | "rtmps" | "srt";

export interface Provider {
  name: string;
  ingest: ProviderUrl;
  ingestScheme: IngestScheme;
  /** At least one. */
  playback: ProviderUrl[];
  variant: VariantChoice | null;
  price: ProviderPrice;
  startTimeoutMs: number | null;
}

export interface ProvidersFile {
  file: string;
  providers: Provider[];
}

/** Records a problem; returns null so that a check can `return fail(...)`. */
type Fail = (message: string) => null;

export type ProvidersCheck = { ok: true; file: ProvidersFile } | { ok: false; errors: string[] };

export const PROVIDER_KEYS = [
  "name", "ingest", "playback", "variant", "price_per_minute_delivered", "price_per_minute_ingested", "price_per_gb",
  "start_timeout",
] as const;

const INGEST_SCHEMES: readonly IngestScheme[] = ["rtmp", "rtmps", "srt"];
const NAME_RULE = "1 to 32 lowercase letters, digits, '-' or '_', starting with a letter or digit";
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** The origin's own stream is "control" in every comparison: a provider of that name could not be told from it. */
const RESERVED_NAMES = new Set(["control"]);
/** SRT options that carry no secret: shown as they are; every other query value is redacted. */
const PLAIN_QUERY_KEYS = new Set(["mode", "latency", "rcvlatency", "peerlatency", "transtype", "pkt_size", "payload_size",
  "maxbw", "pbkeylen", "connect_timeout", "timeout", "tlpktdrop"]);

/** Reads a providers file; throws badInput with one line per problem, each naming the file. */
export function parseProvidersFile(text: string, fileName: string, env: Record<string, string | undefined>): ProvidersFile {
  const check = checkProvidersFile(text, fileName, env);
  if (!check.ok) throw badInput(check.errors.join("\n"));
  return check.file;
}

/** The same as parseProvidersFile, with every problem as data. */
export function checkProvidersFile(text: string, fileName: string, env: Record<string, string | undefined>): ProvidersCheck {
  const format = formatOf(fileName);
  if (format === null) {
    return { ok: false, errors: [`${fileName}: a providers file is .toml or .json, not '${extensionOf(fileName)}'`] };
  }
  let doc: unknown;
  try {
    doc = format === "toml" ? Bun.TOML.parse(text) : JSON.parse(text);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/^(TOML|JSON) Parse error: /, "");
    const at = format === "json" ? jsonPositionFromMessage(text, reason) : null;
    const pos = at ?? findSyntaxPosition(text, format === "toml" ? Bun.TOML.parse : JSON.parse);
    const where = pos ? `, line ${pos.line}, column ${pos.column}` : "";
    return { ok: false, errors: [`${fileName}${where}: not valid ${format.toUpperCase()}: ${reason}`] };
  }
  return checkDocument(doc, fileName, format, env);
}

function checkDocument(doc: unknown, fileName: string, format: "toml" | "json", env: Record<string, string | undefined>): ProvidersCheck {
  const howToWrite = format === "toml" ? "one [[provider]] table per provider" : 'an object with a "provider" array';
  if (!isRecord(doc)) return { ok: false, errors: [`${fileName}: the file must hold ${howToWrite}`] };
  const errors: string[] = [];
  for (const key of Object.keys(doc)) {
    if (key !== "provider") errors.push(`${fileName}: unknown key '${key}' at the top: the only one is 'provider' (${howToWrite})`);
  }
  const list = doc.provider;
  if (list === undefined || (Array.isArray(list) && list.length === 0)) {
    errors.push(`${fileName}: no providers: write ${howToWrite}`);
    return { ok: false, errors };
  }
  if (!Array.isArray(list)) {
    errors.push(`${fileName}: 'provider' must be a list: write ${howToWrite}`);
    return { ok: false, errors };
  }
  const providers: Provider[] = [];
  const firstIndexOfName = new Map<string, number>();
  list.forEach((entry, i) => {
    const label = providerLabel(i, entry);
    const fail: Fail = (message) => {
      errors.push(`${fileName}: ${label}: ${message}`);
      return null;
    };
    const provider = checkProvider(entry, env, fail);
    if (!provider) return;
    const earlier = firstIndexOfName.get(provider.name);
    if (earlier !== undefined) {
      fail(`name '${provider.name}' is already used by provider ${earlier + 1}: names must be unique`);
      return;
    }
    firstIndexOfName.set(provider.name, i);
    providers.push(provider);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, file: { file: fileName, providers } };
}

function checkProvider(entry: unknown, env: Record<string, string | undefined>, fail: Fail): Provider | null {
  if (!isRecord(entry)) {
    fail(`must be a table of ${PROVIDER_KEYS.join(", ")}, not ${describe(entry)}`);
    return null;
  }
  let problems = 0;
  const note: Fail = (message) => {
    problems++;
    return fail(message);
  };
  for (const key of Object.keys(entry)) {
    if (!(PROVIDER_KEYS as readonly string[]).includes(key)) note(`unknown key '${key}': valid keys are ${PROVIDER_KEYS.join(", ")}`);
  }
  const name = checkName(entry.name, note);
  const ingest = entry.ingest === undefined ? note("missing ingest: an rtmp://, rtmps:// or srt:// URL") : checkIngest(entry.ingest, env, note);
  const playback = checkPlayback(entry.playback, env, note);
  const variant = entry.variant === undefined ? null : checkVariant(entry.variant, note);
  const price: ProviderPrice = {
    perMinuteDeliveredUsd: checkPrice(entry, "price_per_minute_delivered", note),
    perMinuteIngestedUsd: checkPrice(entry, "price_per_minute_ingested", note),
    perGbUsd: checkPrice(entry, "price_per_gb", note),
  };
  const startTimeoutMs = entry.start_timeout === undefined ? null : checkDuration(entry.start_timeout, "start_timeout", note);
  if (problems > 0 || name === null || ingest === null || playback === null) return null;
  return { name, ingest: ingest.url, ingestScheme: ingest.scheme, playback, variant, price, startTimeoutMs };
}

function checkName(value: unknown, fail: Fail): string | null {
  if (value === undefined) return fail(`missing name: ${NAME_RULE}`);
  if (typeof value !== "string") return fail(`name must be a string (${NAME_RULE}), not ${describe(value)}`);
  if (!NAME_PATTERN.test(value)) return fail(`name '${value}' is not valid: ${NAME_RULE}`);
  if (RESERVED_NAMES.has(value)) return fail(`name '${value}' is the origin's own stream in a comparison: choose another`);
  return value;
}

function checkIngest(
  value: unknown,
  env: Record<string, string | undefined>,
  fail: Fail,
): { url: ProviderUrl; scheme: IngestScheme } | null {
  if (typeof value !== "string") return fail(`ingest must be a string (an rtmp://, rtmps:// or srt:// URL), not ${describe(value)}`);
  const url = substituteEnv(value, "ingest", env, fail);
  if (url === null) return null;
  const parsed = parseUrl(url);
  const scheme = parsed?.protocol.slice(0, -1) ?? "";
  const display = redactUrl(displayTemplate(value), "ingest");
  if (!parsed || !(INGEST_SCHEMES as readonly string[]).includes(scheme)) {
    return fail(`ingest ${display} is not supported: use an rtmp://, rtmps:// or srt:// URL`);
  }
  if (!parsed.hostname) return fail(`ingest ${display} has no host`);
  if (scheme === "srt" && !parsed.port) return fail(`ingest ${display} has no port: SRT needs srt://HOST:PORT`);
  return { url: new ProviderUrl(url, display), scheme: scheme as IngestScheme };
}

function checkPlayback(value: unknown, env: Record<string, string | undefined>, fail: Fail): ProviderUrl[] | null {
  if (value === undefined) return fail("missing playback: one http(s):// URL or a list of them");
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((u) => typeof u === "string")) {
    return fail(`playback must be an http(s):// URL or a non-empty list of them, not ${describe(value)}`);
  }
  const urls: ProviderUrl[] = [];
  for (const [i, template] of (list as string[]).entries()) {
    const what = list.length > 1 ? `playback ${i + 1}` : "playback";
    const url = substituteEnv(template, what, env, fail);
    if (url === null) continue;
    const parsed = parseUrl(url);
    const display = redactUrl(displayTemplate(template), "playback");
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) {
      fail(`${what} ${display} is not an http:// or https:// URL`);
      continue;
    }
    urls.push(new ProviderUrl(url, display));
  }
  return urls.length === list.length ? urls : null;
}

function checkVariant(value: unknown, fail: Fail): VariantChoice | null {
  const choice = parseVariantChoice(value);
  if (choice === null) fail(`variant ${describe(value)} is not valid: use ${VARIANT_RULE}`);
  return choice;
}

function checkPrice(entry: Record<string, unknown>, key: string, fail: Fail): number | null {
  const value = entry[key];
  if (value === undefined) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    return fail(`${key} must be a non-negative number of USD, not ${describe(value)}`);
  }
  return value;
}

function checkDuration(value: unknown, key: string, fail: Fail): number | null {
  if (typeof value !== "string" && typeof value !== "number") {
    return fail(`${key} must be a duration like "30s" or "2m", not ${describe(value)}`);
  }
  try {
    return parseDurationMs(value, key);
  } catch (err) {
    return fail((err as Error).message);
  }
}

const REFERENCE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `${NAME}` → the variable's value. Every variable unset (or empty: an empty stream key is no key) is reported, by
 * name only; a value is never put in a message.
 */
export function substituteEnv(
  template: string,
  what: string,
  env: Record<string, string | undefined>,
  fail: Fail,
): string | null {
  if (template.replace(REFERENCE, "").includes("${")) return fail(`${what}: an unclosed '\${': write \${NAME}`);
  let ok = true;
  const result = template.replace(REFERENCE, (whole, name: string) => {
    if (!VARIABLE_NAME.test(name)) {
      ok = false;
      fail(`${what}: '${whole}' is not a variable reference: write \${NAME} with letters, digits and '_'`);
      return "";
    }
    const value = env[name];
    if (value === undefined || value === "") {
      ok = false;
      fail(`${what}: environment variable ${name} is not set`);
      return "";
    }
    return value;
  });
  return ok ? result : null;
}

/** What came from the environment is secret wherever it stands: it is shown as `***` before anything else is looked at. */
function displayTemplate(template: string): string {
  return template.replace(REFERENCE, "***");
}

/**
 * A URL with its secrets as `***`: the password, every query value but SRT's plain options, and for an RTMP ingest the
 * stream key of an ingest (the last of two or more path segments, as in rtmp://host/app/KEY).
 */
export function redactUrl(url: string, role: "ingest" | "playback"): string {
  // An ingest URL has no fragment: a '#' there is data (SRT's streamid starts with "#!::"), so it stays in the query.
  const m = (role === "ingest"
    ? /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/?]*)@)?([^/?]*)([^?]*)(\?.*)?$/is
    : /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is).exec(url);
  if (!m) return "***";
  const [, scheme, userinfo, host, rawPath, query] = m;
  const user = userinfo === undefined ? "" : userinfo.includes(":") ? `${userinfo.slice(0, userinfo.indexOf(":"))}:***@` : `${userinfo}@`;
  let path = rawPath ?? "";
  if (role === "ingest") {
    const segments = path.split("/");
    if (segments.filter((s) => s !== "").length >= 2 && segments.at(-1) !== "") path = [...segments.slice(0, -1), "***"].join("/");
  }
  const redactedQuery = query === undefined ? "" : "?" + query.slice(1).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq < 0) return pair;
    const key = pair.slice(0, eq);
    return PLAIN_QUERY_KEYS.has(key.toLowerCase()) ? pair : `${key}=***`;
  }).join("&");
  // A playback URL's fragment never reaches a server; it may still hold a token, so it is not shown at all.
  return `${scheme}${user}${host}${path}${redactedQuery}`;
}

/** V8 and others say "at position N" (JavaScriptCore, Bun's engine, does not): use it when it is there. */
function jsonPositionFromMessage(text: string, message: string): SyntaxPosition | null {
  const m = /position (\d+)/.exec(message);
  return m ? positionAt(text, Number(m[1])) : null;
}

function providerLabel(index: number, entry: unknown): string {
  const name = isRecord(entry) && typeof entry.name === "string" ? ` '${entry.name}'` : "";
  return `provider ${index + 1}${name}`;
}

function formatOf(fileName: string): "toml" | "json" | null {
  const ext = extensionOf(fileName).toLowerCase();
  return ext === ".toml" ? "toml" : ext === ".json" ? "json" : null;
}

function extensionOf(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot) : "(none)";
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as a message may show it: its type, and for short scalars the value. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  const shown = JSON.stringify(value);
  return shown.length <= 40 ? `${typeof value} ${shown}` : `a ${typeof value}`;
}
