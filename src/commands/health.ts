import type { Argv } from "yargs";
import { describeFetchError } from "../client/http.ts";
import { readEnv } from "../env.ts";
import { badInput, failed, unavailable } from "../errors.ts";

export function healthOptions<T>(y: Argv<T>) {
  return y.option("url", { type: "string", describe: "the vat server to ask [default http://127.0.0.1:$PORT, PORT 5000]" });
}

/** Asks a vat server's /health (a container HEALTHCHECK needs no curl): exit 0 while live, 1 with the reason if not. */
export async function runHealth(args: { url?: string }): Promise<number> {
  const base = args.url ?? `http://127.0.0.1:${readEnv().serve.port ?? 5000}`;
  if (!/^https?:\/\/[^/]/i.test(base) || !URL.canParse(base)) {
    throw badInput(`--url '${base}' is not a server address: use e.g. http://127.0.0.1:5000`);
  }
  const url = `${base.replace(/\/+$/, "")}/health`;
  let r: Response;
  try {
    r = await fetch(url, { signal: AbortSignal.timeout(2500) });
  } catch (err) {
    throw unavailable(`${url} does not answer: ${describeFetchError(err)}`);
  }
  const body = (await r.json().catch(() => ({}))) as { reason?: string };
  if (r.status !== 200) throw failed(`not live: ${body.reason ?? `HTTP ${r.status}`}`);
  process.stdout.write(`live (${url})\n`);
  return 0;
}
