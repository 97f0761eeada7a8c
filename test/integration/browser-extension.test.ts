import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker as ServiceWorker } from 'playwright-core';
import { buildExtension, optionsFromEnv } from '../../extension/build';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/chromium';
import { Stack, waitFor } from '../helpers/stack';

// The reference extension in a real browser (Debian's Chromium, headless, the extension loaded unpacked): LinkedIn
// pages are served locally through request routing, LinkedIn's cookies set in the browser profile. Everything the
// test reads comes from what a person sees (the popup, the options page) or from the product's backend API.
const SHOTS = resolve(__dirname, '../.tmp/screenshots');

const linkedinPage = (memberId: string) => `<!doctype html><html><head><title>Feed | LinkedIn</title></head><body>
<h1>Feed</h1>
<code style="display:none" id="bpr-guid-1">{"data":{"plainId":${memberId},"publicIdentifier":"someone"},"included":[]}</code>
<code style="display:none" id="bpr-guid-2">{"data":{"entityUrn":"urn:li:fs_feed"},"included":[{"plainId":999000111}]}</code>
</body></html>`;

describe('the browser extension, in Chromium', () => {
  const stack = new Stack({ env: { CHECKPOINT_TIMEOUT: '2m' } });
  let context: BrowserContext;
  let worker: ServiceWorker;
  let extensionId: string;
  let profile: string;
  let built: { dir: string; zip: string };
  let memberOnPage = '111222333';
  let tokenId: string;

  beforeAll(async () => {
    await stack.start();
    const out = mkdtempSync(join(tmpdir(), 'keeper-extension-'));
    // Built as a product team would, for their API's origin (any port of 127.0.0.1 here).
    built = await buildExtension(
      {
        ...optionsFromEnv({}),
        apiOrigin: 'http://127.0.0.1',
        appOrigins: ['https://app.acme.test'],
        name: 'Acme LinkedIn sync',
      },
      join(out, 'unpacked'),
      join(out, 'zip'),
    );
    profile = join(out, 'profile');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: false, // --headless=new below: the old headless mode does not run extensions
      args: [
        '--headless=new',
        ...CHROMIUM_FLAGS,
        `--disable-extensions-except=${built.dir}`,
        `--load-extension=${built.dir}`,
      ],
    });
    // The product's own web app, which may hand the key to the extension (externally_connectable).
    await context.route('https://app.acme.test/**', (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Acme</title><p>Acme</p>' }),
    );
    await context.route('https://www.linkedin.com/**', (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: linkedinPage(memberOnPage) }),
    );
    worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    extensionId = new URL(worker.url()).host;
  });
  afterAll(async () => {
    await context?.close();
    await stack.stop();
    if (profile) rmSync(resolve(profile, '..'), { recursive: true, force: true });
  });

  const setLinkedinCookies = (liAt: string, liA?: string) =>
    context.addCookies(
      [{ name: 'li_at', value: liAt }, ...(liA ? [{ name: 'li_a', value: liA }] : [])].map((c) => ({
        ...c,
        domain: '.linkedin.com',
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'None' as const,
      })),
    );
  const openLinkedin = async () => {
    const page = await context.newPage();
    await page.goto('https://www.linkedin.com/feed/');
    return page;
  };
  const popup = async (): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/popup.html`);
    return page;
  };
  const accountsOf = async (userId: string) =>
    (await stack.api$('GET', `/api/users/${userId}/accounts`)).json.items as {
      accountId: string;
      status: string;
    }[];

  test('pairs from the options page, sends the cookies, and the account connects; a new li_at is sent again', async () => {
    await stack.api$('PUT', '/api/users/ext-user', { email: 'ext@example.test', name: 'Ext' });
    const issued = await stack.api$('POST', '/api/users/ext-user/extension-token');
    const token: string = issued.json.token;
    tokenId = issued.json.tokenId;
    await setLinkedinCookies('AQEDAbrowser-li-at-0001', 'AQJ2browser-li-a-0001');
    const linkedin = await openLinkedin();

    const options = await context.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    await options.locator('#api-url').fill(stack.config.PUBLIC_BASE_URL);
    await options.locator('#token').fill(token);
    await options.getByRole('button', { name: 'Pair', exact: true }).click();
    await options.locator('#result', { hasText: 'Paired with' }).waitFor();
    await options.screenshot({ path: resolve(SHOTS, 'extension-1-paired.png') });

    // No command after pairing: the extension sends the session and the product connects the account.
    await waitFor(async () => (await accountsOf('ext-user')).some((a) => a.status === 'OK'), 30_000, 'connected');
    const [account] = await accountsOf('ext-user');
    const connect = stack.connectCalls().at(-1)!.body as Record<string, unknown>;
    expect(connect).toMatchObject({
      provider: 'LINKEDIN',
      access_token: 'AQEDAbrowser-li-at-0001',
      premium_token: 'AQJ2browser-li-a-0001',
    });
    expect(String(connect.user_agent)).toContain('Chrome');

    const view = await popup();
    await view.locator('#state', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
    await view.screenshot({ path: resolve(SHOTS, 'extension-2-connected.png') });
    await view.close();

    // LinkedIn rotates li_at: the extension sends the new one at once, the account's workflow hears of it.
    const before = (await stack.api$('GET', `/api/accounts/${account!.accountId}`)).json.workflow?.cookieAt;
    await setLinkedinCookies('AQEDAbrowser-li-at-0002', 'AQJ2browser-li-a-0001');
    await waitFor(
      async () => {
        const cookieAt = (await stack.api$('GET', `/api/accounts/${account!.accountId}`)).json.workflow?.cookieAt;
        return !!cookieAt && cookieAt !== before;
      },
      20_000,
      'the new cookie reached the account',
    );

    // The extension keeps no cookie value and no key anywhere but its own storage, and never a cookie at all.
    const stored = JSON.stringify(await worker.evaluate(() => chrome.storage.local.get(null)));
    expect(stored).not.toContain('AQEDAbrowser-li-at');
    expect(stored).not.toContain('AQJ2browser-li-a');
    await linkedin.close();
    await options.close();
  });

  test('another LinkedIn member in the same browser: a checkpoint answered in the popup connects it', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: '246810' }]);
    memberOnPage = '444555666';
    await setLinkedinCookies('AQEDAsecond-member-li-at-01');
    const linkedin = await openLinkedin(); // the content script reports the new member id

    const view = await popup();
    await view.locator('#state', { hasText: 'LinkedIn asks for a verification code' }).waitFor({ timeout: 30_000 });
    await expect(view.locator('#detail').innerText()).resolves.toContain('authenticator');
    await view.screenshot({ path: resolve(SHOTS, 'extension-3-code-asked.png') });

    await view.locator('#code').fill('000000');
    await view.getByRole('button', { name: 'Send code' }).click();
    await view.locator('#result', { hasText: 'wrong or has expired' }).waitFor();
    await view.locator('#code').fill('246810');
    await view.getByRole('button', { name: 'Send code' }).click();
    await view.locator('#result', { hasText: 'LinkedIn accepted the code' }).waitFor();
    await view.locator('#state', { hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    await view.screenshot({ path: resolve(SHOTS, 'extension-4-code-accepted.png') });

    // Two LinkedIn accounts for this user now, both up; the first member's cookies were left alone.
    await waitFor(
      async () => (await accountsOf('ext-user')).filter((a) => a.status === 'OK').length === 2,
      30_000,
      'both accounts OK',
    );
    const connect = stack.connectCalls().at(-1)!.body as Record<string, unknown>;
    expect(connect.access_token).toBe('AQEDAsecond-member-li-at-01');
    await linkedin.close();
    await view.close();
  });

  test('a revoked key stops the syncing and the popup asks to pair again', async () => {
    expect((await stack.api$('DELETE', `/api/users/ext-user/extension-tokens/${tokenId}`)).status).toBe(204);
    await setLinkedinCookies('AQEDAsecond-member-li-at-02');
    const view = await popup();
    await view.locator('#state', { hasText: 'Pair again' }).waitFor({ timeout: 20_000 });
    expect(await view.getByRole('button', { name: 'Pair this browser' }).isVisible()).toBe(true);
    await view.close();
  });

  test("the product's web app pairs the extension itself; another site cannot", async () => {
    const issued = await stack.api$('POST', '/api/users/ext-user/extension-token');
    const app = await context.newPage();
    await app.goto('https://app.acme.test/settings');
    const pairFrom = (page: Page, apiUrl: string, token: string) =>
      page.evaluate(
        ([id, message]) =>
          new Promise((resolvePair) =>
            (globalThis as unknown as { chrome: typeof chrome }).chrome.runtime.sendMessage(id, message, resolvePair),
          ),
        [extensionId, { type: 'pair', apiUrl, token }] as const,
      );
    // A token bound for another address is refused: the key only ever goes to the API the extension was built for.
    expect(await pairFrom(app, 'https://collector.example.net', issued.json.token)).toMatchObject({ ok: false });
    expect(await pairFrom(app, stack.config.PUBLIC_BASE_URL, issued.json.token)).toEqual({ ok: true });
    const view = await popup();
    await view.locator('#state', { hasText: 'Connected' }).waitFor({ timeout: 20_000 });
    await view.close();

    // Once paired, the same web page cannot silently swap the key (a script on the app's origin could send the
    // cookies to another user): the new pairing waits until the user accepts it in the popup.
    const lastUsed = async (id: string) =>
      (
        (await stack.api$('GET', '/api/users/ext-user/extension-tokens')).json.items as {
          tokenId: string;
          lastUsedAt: string | null;
        }[]
      ).find((t) => t.tokenId === id)?.lastUsedAt ?? null;
    const swapped = await stack.api$('POST', '/api/users/ext-user/extension-token');
    expect(await pairFrom(app, stack.config.PUBLIC_BASE_URL, swapped.json.token)).toEqual({ ok: false, pending: true });
    const asked = await popup();
    await asked.locator('#state', { hasText: 'Accept the new pairing?' }).waitFor({ timeout: 20_000 });
    expect(await asked.locator('#detail').textContent()).toContain('https://app.acme.test');
    // Until accepted, the browser goes on with the key it had: the offered one was never presented.
    await asked.getByRole('button', { name: 'Check again' }).click();
    await asked.locator('#state', { hasText: 'Accept the new pairing?' }).waitFor({ timeout: 20_000 });
    expect(await lastUsed(swapped.json.tokenId)).toBeNull();
    await asked.screenshot({ path: resolve(SHOTS, 'extension-5-pending-pairing.png') });
    await asked.getByRole('button', { name: 'Accept' }).click();
    await asked.locator('#state', { hasText: 'Connected' }).waitFor({ timeout: 20_000 });
    await waitFor(async () => (await lastUsed(swapped.json.tokenId)) !== null, 20_000, 'the accepted key used');
    await asked.close();
    // A page from any other origin has no way to reach the extension at all.
    const other = await context.newPage();
    await other.goto('https://www.linkedin.com/feed/');
    expect(
      await other.evaluate(
        () => typeof (globalThis as { chrome?: { runtime?: { sendMessage?: unknown } } }).chrome?.runtime?.sendMessage,
      ),
    ).toBe('undefined');
    await other.close();
    await app.close();
  });

  test('the store zip holds the manifest and its files', async () => {
    const { unzipSync } = await import('fflate');
    const { readFileSync } = await import('node:fs');
    const files = unzipSync(readFileSync(built.zip));
    const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8'));
    expect(manifest).toMatchObject({ manifest_version: 3, name: 'Acme LinkedIn sync' });
    for (const file of ['background.js', 'content.js', 'popup.html', 'popup.js', 'options.html', 'icon-128.png'])
      expect(files[file]).toBeDefined();
  });
});
