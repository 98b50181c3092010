import { existsSync } from "node:fs";

/**
 * A page in Debian's Chromium (driven by playwright-core), with every request it made and every error or warning it
 * logged; the browser is closed after use.
 */
export async function inChromium<T>(
  file: string,
  use: (page: import("playwright-core").Page, seen: { url: string; requests: string[]; problems: string[] }) => Promise<T>,
  viewport = { width: 1400, height: 1000 },
): Promise<T> {
  const { chromium } = await import("playwright-core");
  if (!existsSync("/usr/bin/chromium")) throw new Error("/usr/bin/chromium is missing: install Debian's chromium (install.sh does)");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport });
    const seen = { url: `file://${file}`, requests: [] as string[], problems: [] as string[] };
    page.on("request", (r) => seen.requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") seen.problems.push(m.text());
    });
    page.on("pageerror", (e) => seen.problems.push(String(e)));
    await page.goto(seen.url, { waitUntil: "load" });
    return await use(page, seen);
  } finally {
    await browser.close();
  }
}
