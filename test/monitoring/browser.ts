import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium (scripts/chromium.sh installs it); WEIR_TEST_CHROMIUM points elsewhere. */
const CHROMIUM = process.env['WEIR_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Headless Chromium with a fresh profile in `dir`. A missing browser fails the test (it never skips):
 * the UI's proof is a real browser.
 */
export async function launchChromium(dir: string): Promise<BrowserContext> {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: run 'bash scripts/chromium.sh' (npm test does) to install Debian's chromium package.`);
  }
  return chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1500 },
  });
}
