import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Flags this machine's headless Chromium needs: no sandbox (no user namespaces here), no GPU, and nothing that talks to
 * the network on its own (a test sees only the requests its page makes). Media plays muted without a gesture.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
];

/** Debian's Chromium driven by playwright-core; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (install.sh does)`);
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Runs use() with a fresh browser, closed afterwards whatever happens. */
export async function withChromium<T>(use: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}
