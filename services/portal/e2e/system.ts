import { startStack, type Stack, type StackOptions } from '@switchboard/stack';
import type { Page } from 'playwright-core';
import { launchBrowser, type E2eBrowser } from './browser.js';

/** What a person types into the sign-in form (the stack's `portal.accounts` have these fields). */
export interface SignInAccount {
  tenantId: string;
  username: string;
  password: string;
}

export interface System {
  stack: Stack;
  browser: E2eBrowser;
  /** `http://127.0.0.1:<port>` of the portal the stack started. */
  url: string;
  /** Signs `account` in through the form in a fresh browser context; the page is on the start page. */
  signIn(account: SignInAccount, options?: { locale?: 'de-DE' | 'en-GB' }): Promise<Page>;
  stop(): Promise<void>;
}

/**
 * The whole system (libs/stack: every service, the portal, NATS, FerretDB, ari-sim in this process)
 * and a headless Chromium. A failure on the way stops what was started; `stop()` ends both and
 * is safe to call twice.
 */
export async function startSystem(options: StackOptions = {}): Promise<System> {
  // Generous: the whole system starts on two cores shared with whatever else runs.
  const stack = await startStack({ alwaysOpen: true, handleSignals: false, readyTimeoutMs: 180_000, ...options });
  let browser: E2eBrowser;
  try {
    browser = await launchBrowser();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  if (!stack.portal) {
    await stack.stop();
    throw new Error('the stack started no portal (options.services must include it)');
  }
  const url = stack.portal.url;
  return {
    stack,
    browser,
    url,
    async signIn(account, signInOptions) {
      const page = await browser.newPage(signInOptions);
      await page.goto(`${url}/anmelden`);
      const english = signInOptions?.locale === 'en-GB';
      await page.getByLabel(english ? 'Tenant' : 'Mandant').fill(account.tenantId);
      await page.getByLabel(english ? 'Username' : 'Benutzername').fill(account.username);
      await page.getByLabel(english ? 'Password' : 'Passwort').fill(account.password);
      await Promise.all([
        page.waitForURL(`${url}/`),
        page.getByRole('button', { name: english ? 'Sign in' : 'Anmelden' }).click(),
      ]);
      return page;
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await stack.stop();
    },
  };
}
