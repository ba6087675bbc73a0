import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// Debian's package (scripts/bootstrap installs it); playwright-core downloads no browser.
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's. */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return configured;
  }
  const found = CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `no Chromium at ${CHROMIUM_CANDIDATES.join(' or ')}: run scripts/bootstrap (installs Debian's chromium) or set CHROMIUM_PATH`,
    );
  }
  return found;
}

export interface E2eBrowser {
  /** A fresh context (its own cookies: one signed-in person) with one page, German first. */
  newPage(options?: { locale?: 'de-DE' | 'en-GB' }): Promise<Page>;
  /** Requests a page made to anything but 127.0.0.1 (refused): a page must need nothing from outside. */
  readonly outsideRequests: string[];
  /** Full-page PNG `<dir>/<name>.png`; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
  readonly screenshotDir: string;
  close(): Promise<void>;
}

/**
 * Headless Chromium for the portal's end-to-end tests: a laptop-sized window, and every request
 * that leaves 127.0.0.1 refused and recorded, so a test notices a page that loads from outside.
 * Screenshots go to `PORTAL_E2E_SCREENSHOTS` or `reports/portal-e2e/`, printed at start.
 */
export async function launchBrowser(): Promise<E2eBrowser> {
  const screenshotDir = path.resolve(process.env.PORTAL_E2E_SCREENSHOTS ?? path.join(REPO_ROOT, 'reports/portal-e2e'));
  await mkdir(screenshotDir, { recursive: true });
  process.stdout.write(`portal e2e: screenshots in ${screenshotDir}\n`);
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // No update checks, sync, or other background traffic of the browser itself.
    args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const contexts: BrowserContext[] = [];
  const outsideRequests: string[] = [];
  return {
    outsideRequests,
    screenshotDir,
    async newPage(options = {}) {
      const locale = options.locale ?? 'de-DE';
      const context = await browser.newContext({
        locale,
        extraHTTPHeaders: { 'Accept-Language': locale === 'de-DE' ? 'de-DE,de;q=0.9' : 'en-GB,en;q=0.9' },
        timezoneId: 'Europe/Berlin',
        viewport: { width: 1366, height: 768 },
        acceptDownloads: true,
      });
      contexts.push(context);
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.hostname === '127.0.0.1') return route.continue();
        outsideRequests.push(url.href);
        return route.abort('blockedbyclient');
      });
      return context.newPage();
    },
    async screenshot(page, name) {
      const file = path.join(screenshotDir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
      await browser.close();
    },
  };
}

/** WCAG 2.1 A and AA rules of axe-core; the level the issue asks for (BITV 2.0). */
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Runs axe-core on the page as it is now and fails with every serious or critical violation
 * named (rule, impact, the offending elements), so a test's message says what to fix.
 */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const grave = result.violations.filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
  if (grave.length === 0) return;
  const described = grave.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help}\n` +
      violation.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary ?? ''}`).join('\n'),
  );
  throw new Error(`${page.url()}: ${grave.length} serious/critical accessibility violations\n${described.join('\n')}`);
}
