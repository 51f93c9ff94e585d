/**
 * Headless Chromium for the browser tests (puppeteer-core drives it; it
 * downloads no browser of its own): CHROMIUM_PATH, else Debian's `chromium`
 * (or chromium-browser, google-chrome) on the PATH. None found: the test
 * fails with one line saying how to get one.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium to run, or an Error whose message says how to get one. */
function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.CHROMIUM_PATH;
  if (given) {
    if (executable(given)) return given;
    throw new Error(`CHROMIUM_PATH=${given} is not an executable: point it at a Chromium or Chrome binary, or unset it to use chromium from the PATH`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    'no Chromium found for the browser tests: install it (Debian: apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH to a Chromium or Chrome binary',
  );
}

/** A headless Chromium (no sandbox: the tests run as root in CI). */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
    defaultViewport: { width: 1100, height: 760 },
  });
}
