import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, ConsoleMessage, Page } from "playwright-core";
import {
  removeDataDir,
  REPO_ROOT,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";

/** Debian's chromium (installed by .ci/run); CAIRN_CHROMIUM points elsewhere. */
const CHROMIUM_PATH = process.env["CAIRN_CHROMIUM"] ?? "/usr/bin/chromium";

/** Screenshots of every page, kept after the run for people to look at (CI artifacts). */
const ARTIFACTS_DIR = join(REPO_ROOT, "test-artifacts", "console");

/** Why the browser tests cannot run here, or undefined when they can. Printed loudly by the test. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `SKIPPED LOUDLY: Chromium is missing at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CAIRN_CHROMIUM. Console browser tests are SKIPPED.`;
  }
  return undefined;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // The machine has no network: background services would only produce refused connections.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Collects what the page reports as errors, so a test can insist there are none. */
export function watchErrors(page: Page): { errors: string[]; allow: (pattern: RegExp) => void } {
  const errors: string[] = [];
  const allowed: RegExp[] = [];
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (!allowed.some((pattern) => pattern.test(text))) errors.push(`console: ${text}`);
  });
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  return { errors, allow: (pattern) => allowed.push(pattern) };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Signs in with the test's admin key at `url`, and waits for the console's first page. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Access key ID").fill(TEST_ACCESS_KEY_ID);
  await page.getByLabel("Secret access key").fill(TEST_SECRET_ACCESS_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Event history" }).waitFor();
}

/** What a console test starts, any of which may be missing when its setup failed half-way. */
export interface ConsoleTestParts {
  readonly context?: BrowserContext | undefined;
  readonly browser?: Browser | undefined;
  readonly client?: { destroy(): void } | undefined;
  readonly server?: ServerProcess | undefined;
}

/** Stops what a console test started, browser first, and removes the server's data directory. */
export async function closeConsoleTest(parts: ConsoleTestParts): Promise<void> {
  await parts.context?.close().catch(() => undefined);
  await parts.browser?.close().catch(() => undefined);
  parts.client?.destroy();
  await parts.server?.stop();
  if (parts.server) removeDataDir(parts.server.dataDir);
}
