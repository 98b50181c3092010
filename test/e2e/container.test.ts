import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { buildImage, podman } from "../helpers/podman.ts";
import { client, freePort, tempDir } from "../helpers/vat.ts";

const tmp = tempDir();
const TAG = "localhost/vat:e2e";
const NAME = `vat-e2e-${process.pid}`;
afterAll(() => {
  podman(["rm", "-f", NAME], { check: false });
  tmp.cleanup();
});

test(
  "Dockerfile.opencv: built for real, run as Fargate runs it, measured, stopped by SIGTERM well before the kill",
  async () => {
    buildImage(TAG);
    const image = JSON.parse(podman(["image", "inspect", TAG]).out)[0];
    expect(image.Config.User).toBe("vat");
    expect(Object.keys(image.Config.ExposedPorts)).toContain("5000/tcp");
    expect(image.Config.Entrypoint).toEqual(["vat", "serve"]);
    expect(image.Healthcheck.Test).toEqual(["CMD", "vat", "health"]);

    // The variables the Fargate launcher sets; PORT keeps the test off 5000, which other tests' tasks use.
    const port = freePort();
    podman([
      "run", "-d", "--name", NAME, "--network=host",
      "-e", "ID=ctr1", "-e", "FPS=15", "-e", "IMAGE_SIZE=0", "-e", "CPU=256", "-e", "MEMORY=512", "-e", "VIDEO_TYPE=LIVE",
      "-e", `PORT=${port}`, TAG,
    ]);
    const run = await client(["--url", `http://127.0.0.1:${port}`, "--duration", "5s", "--connect-timeout", "30s", "--db", join(tmp.path, "c.db"), "--json"]);
    expect(run.exitCode).toBe(0);
    expect(run.json!.params).toMatchObject({ ID: "ctr1", FPS: 15, IMAGE_SIZE: 0, CPU: 256, MEMORY: 512, VIDEO_TYPE: "LIVE" });
    expect(run.json!.summary).toMatchObject({ dropped: 0, unreadable: 0 });
    expect(run.json!.summary.framesNew).toBeGreaterThan(50);

    expect(podman(["healthcheck", "run", NAME], { check: false }).code).toBe(0);
    const top = podman(["exec", NAME, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; id -un"]).out;
    expect(top).toContain("vat serve");
    expect(top).toContain("vat\n");

    const t0 = performance.now();
    podman(["stop", "-t", "30", NAME]);
    const tookMs = performance.now() - t0;
    expect(tookMs).toBeLessThan(5000);
    expect(podman(["inspect", NAME, "--format", "{{.State.ExitCode}}"]).out.trim()).toBe("0");
    const logs = podman(["logs", NAME]).err + podman(["logs", NAME]).out;
    expect(logs).toContain("vat serve: SIGTERM, stopping");
    expect(logs).toContain("vat serve: stopped");
  },
  600_000,
);
