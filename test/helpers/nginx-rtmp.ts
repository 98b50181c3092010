import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stopProcess, track, waitForPort } from "./processes.ts";
import { freePort, tempDir } from "./vat.ts";

/**
 * A real third-party provider: Debian's nginx with libnginx-mod-rtmp, taking RTMP on one loopback port and serving
 * what it repackages (MPEG-TS HLS and fMP4 DASH, no transcoding) over HTTP on another. Everything it writes stays in
 * a temporary prefix; it runs as one process (no master, no daemon) so that its PID is all there is to stop.
 */
export interface NginxRtmp {
  pid: number;
  /** Where to publish: rtmp://127.0.0.1:PORT/live/KEY. */
  ingestUrl: string;
  hlsUrl: string;
  dashUrl: string;
  fragmentS: number;
  prefix: string;
  /** nginx's error log so far (connections, publishes, failures). */
  log(): string;
  /** Stops nginx (SIGTERM, then SIGKILL after 2 s), waits for it, removes the prefix. */
  stop(): Promise<void>;
}

export const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

export interface NginxRtmpOptions {
  streamKey?: string;
  /** hls_fragment and dash_fragment: nginx cuts at the first keyframe after this much. */
  fragmentS?: number;
  playlistLengthS?: number;
}

export async function startNginxRtmp(opts: NginxRtmpOptions = {}): Promise<NginxRtmp> {
  const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
  if (!nginx || !existsSync(RTMP_MODULE)) {
    throw new Error("nginx with its RTMP module is not installed: run test/setup/install-test-deps.sh");
  }
  const key = opts.streamKey ?? "stream";
  const fragmentS = opts.fragmentS ?? 1;
  const dir = tempDir("vat-nginx-");
  const prefix = dir.path;
  for (const sub of ["hls", "dash", "temp", "logs"]) mkdirSync(join(prefix, sub));
  const rtmpPort = freePort();
  const httpPort = freePort();
  const conf = join(prefix, "nginx.conf");
  const errorLog = join(prefix, "logs", "error.log");
  writeFileSync(conf, nginxConfig({ prefix, rtmpPort, httpPort, fragmentS, playlistLengthS: opts.playlistLengthS ?? 6 }));
  // -e: the error log before the config is read, which would otherwise be the system's /var/log/nginx/error.log.
  const proc = track(Bun.spawn([nginx, "-c", conf, "-p", prefix, "-e", errorLog, "-g", "daemon off;"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  }));
  let stderr = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) stderr += dec.decode(chunk);
  })();
  const log = () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "") + stderr;
  const gone = () => (proc.exitCode !== null ? `nginx exited (${proc.exitCode}): ${log().slice(-2000)}` : null);
  const stop = async () => {
    await stopProcess(proc);
    dir.cleanup();
  };
  try {
    await waitForPort(rtmpPort, 5000, gone);
    await waitForPort(httpPort, 5000, gone);
  } catch (err) {
    await stop();
    throw err;
  }
  const http = `http://127.0.0.1:${httpPort}`;
  return {
    pid: proc.pid,
    ingestUrl: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`,
    hlsUrl: `${http}/hls/${key}.m3u8`,
    dashUrl: `${http}/dash/${key}.mpd`,
    fragmentS,
    prefix,
    log,
    stop,
  };
}

function nginxConfig(o: { prefix: string; rtmpPort: number; httpPort: number; fragmentS: number; playlistLengthS: number }): string {
  const p = o.prefix;
  return `load_module ${RTMP_MODULE};
master_process off;
worker_processes 1;
pid ${p}/nginx.pid;
error_log ${p}/logs/error.log info;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${o.rtmpPort};
    application live {
      live on;
      record off;
      hls on;
      hls_path ${p}/hls;
      hls_fragment ${o.fragmentS}s;
      hls_playlist_length ${o.playlistLengthS}s;
      dash on;
      dash_path ${p}/dash;
      dash_fragment ${o.fragmentS}s;
      dash_playlist_length ${o.playlistLengthS}s;
    }
  }
}
http {
  access_log off;
  # Debian's build puts these under /var/lib/nginx: keep every file this instance writes in its prefix.
  client_body_temp_path ${p}/temp/body;
  proxy_temp_path ${p}/temp/proxy;
  fastcgi_temp_path ${p}/temp/fastcgi;
  uwsgi_temp_path ${p}/temp/uwsgi;
  scgi_temp_path ${p}/temp/scgi;
  types {
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
    application/dash+xml mpd;
    video/mp4 m4v;
    audio/mp4 m4a;
  }
  server {
    listen 127.0.0.1:${o.httpPort};
    location /hls/ { alias ${p}/hls/; add_header Cache-Control no-cache; }
    location /dash/ { alias ${p}/dash/; add_header Cache-Control no-cache; }
  }
}
`;
}
