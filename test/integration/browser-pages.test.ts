import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/chromium';
import { Stack, waitFor } from '../helpers/stack';

// A person's path, in a real browser (Debian's Chromium, installed by .ci/run): connect through the simulator's
// wizard, land on our page, see the account connected; break it; reconnect from the page. Screenshots of each step
// are kept in test/.tmp/screenshots.
const SHOTS = resolve(__dirname, '../.tmp/screenshots');

describe('pages people read, in Chromium', () => {
  const stack = new Stack();
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await stack.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', ...CHROMIUM_FLAGS],
    });
    page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
  });
  afterAll(async () => {
    await browser?.close();
    await stack.stop();
  });

  const shot = (name: string) => page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });
  const stateText = () => page.locator('li .state').first().innerText();

  test('connect, see it connected, break it, reconnect from the page', async () => {
    await stack.api$('PUT', '/api/users/browser-user', { email: 'browser@example.test', name: 'Bea' });
    const link = await stack.api$('POST', '/api/users/browser-user/connect-link', { providers: ['GOOGLE'] });
    expect(link.status).toBe(201);

    await page.goto(link.json.url);
    await shot('1-wizard');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.waitForURL(/\/connect\/done\?token=/);
    // The page refreshes itself until the account is up.
    await page.locator('li .state', { hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    await shot('2-connected');
    const accountId = (await page.locator('li').first().getAttribute('data-account-id'))!;
    expect(await page.locator('a.button').count()).toBe(0);

    await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${accountId}`)).json.status === 'CREDENTIALS');
    await page.reload();
    expect(await stateText()).toBe('Needs you to reconnect');
    await shot('3-needs-reconnect');

    await page.getByRole('link', { name: 'Reconnect' }).click();
    await page.waitForURL(/\/hosted\//);
    await shot('4-reconnect-wizard');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.waitForURL(/\/connect\/done\?token=/);
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${accountId}`)).json.status === 'OK', 30_000);
    await page.reload();
    expect(await stateText()).toBe('Connected');
    await shot('5-reconnected');
  });
});
