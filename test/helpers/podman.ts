import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Builds and runs Dockerfile.opencv with Debian's podman (rootful, runc), without any registry: the base image the
 * Dockerfile names is made locally with debootstrap. Settings that podman 4.3 needs on small hosts: explicit
 * ulimits at or below the hard limits, host networking, cgroupfs.
 */
const ROOT = resolve(import.meta.dir, "../..");
const CONF = join(tmpdir(), "vat-containers.conf");
const BASE = "docker.io/library/debian:bookworm-slim";
const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];

function env(): Record<string, string> {
  writeFileSync(
    CONF,
    '[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]\nnetns = "host"\n\n' +
      '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n',
  );
  return { ...process.env, CONTAINERS_CONF: CONF } as Record<string, string>;
}

export function podman(args: string[], opts: { check?: boolean } = {}): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([...asRoot, "env", `CONTAINERS_CONF=${CONF}`, "podman", ...args], { env: env() });
  const res = { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  if (opts.check !== false && res.code !== 0) throw new Error(`podman ${args.join(" ")} failed (${res.code}): ${res.err.slice(-2000)}`);
  return res;
}

function sh(cmd: string[], what: string): void {
  const r = Bun.spawnSync([...asRoot, ...cmd], { env: env() });
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
}

/** The Debian the Dockerfile starts FROM, made with debootstrap from this machine's own Debian mirror. */
export function ensureBaseImage(): void {
  if (podman(["image", "exists", BASE], { check: false }).code === 0) return;
  const sources = "/etc/apt/sources.list.d/debian.sources";
  const mirror = existsSync(sources) ? /^URIs:\s*(\S+)/m.exec(readFileSync(sources, "utf8"))?.[1] : undefined;
  const dir = join(tmpdir(), `vat-debootstrap-${process.pid}`);
  sh(["debootstrap", "--variant=minbase", "bookworm", dir, mirror ?? "http://deb.debian.org/debian"], "debootstrap");
  if (existsSync(sources)) sh(["cp", sources, join(dir, "etc/apt/sources.list.d/debian.sources")], "copying apt sources");
  sh(["sh", "-c", `rm -f ${dir}/etc/apt/sources.list; rm -rf ${dir}/var/cache/apt/archives/*.deb ${dir}/var/lib/apt/lists/*`], "cleaning");
  sh(
    ["sh", "-c", `tar --numeric-owner -C ${dir} -c . | CONTAINERS_CONF=${CONF} podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - localhost/debian:bookworm-slim`],
    "podman import",
  );
  podman(["tag", "localhost/debian:bookworm-slim", BASE]);
  sh(["rm", "-rf", dir], "removing the debootstrap folder");
}

/** The machine's extra CA certificates (a TLS-intercepting proxy's), passed as the Dockerfile's optional input. */
function extraCaCerts(): string {
  const dir = "/usr/local/share/ca-certificates";
  if (!existsSync(dir)) return "";
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".crt"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n");
}

export function buildImage(tag: string): void {
  ensureBaseImage();
  podman([
    "build", "--pull=never", "--network=host", "--format", "docker", "--build-arg", `EXTRA_CA_CERT=${extraCaCerts()}`,
    "-f", join(ROOT, "Dockerfile.opencv"), "-t", tag, ROOT,
  ]);
}
