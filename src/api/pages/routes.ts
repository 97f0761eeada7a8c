// Pages for people: the hosted-auth landing page and the reconnect redirect that email links point to. Both are
// reached by signed links, checked in the route's own middleware (an HTML page answers a bad link).
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { findAccount, findUser, type AccountRow } from '../../accounts/repository';
import { escapeHtml } from '../../platform/html';
import { providerName } from '../../email/account-emails';
import { reconnectLinkPath, verifyToken } from '../../platform/tokens';
import type { ApiDeps } from '../http/deps';
import { createHostedLink, reusableReconnectLink } from '../../accounts/links';
import { plainState, SETTLING } from '../../common/plain-state';
import { reconnectPageRateLimit } from '../http/rate-limits';
import { UnipileBudgetError } from '../../unipile/unipile-api';
import { defineRoute, type Route } from '../http/route';
import { accountParams } from '../backend/schemas';
import { LANGUAGES, STATE_KEYS, translator, type Translator } from '../../i18n';

const HEALTHY = new Set(['OK', 'PENDING', 'CONNECTING', 'DELETED']);
/** While an account is on its way up, the page refreshes itself. */
function page(tr: Translator, title: string, body: string, refreshSeconds?: number): string {
  return `<!doctype html><html lang="${escapeHtml(tr.language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,sans-serif;max-width:40rem;margin:0 auto;padding:1.5rem;color:#1f2328;line-height:1.5}
h1{font-size:1.4rem}ul{list-style:none;padding:0}
li{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.8rem 1rem;margin:.6rem 0;border:1px solid #d0d7de;border-radius:8px}
.name{font-weight:600;flex:1 1 12rem}.when{color:#656d76;font-size:.85rem;flex-basis:100%}
.state{padding:.1rem .6rem;border-radius:999px;font-size:.9rem}
.ok{background:#dafbe1;color:#116329}.wait{background:#fff8c5;color:#7d4e00}.act{background:#ffebe9;color:#a40e26}.gone{background:#eaeef2;color:#57606a}
a.button{padding:.35rem .9rem;border-radius:6px;background:#0969da;color:#fff;text-decoration:none;font-weight:600}
p.note{color:#656d76}
</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const tokenQuery = z.object({ token: z.string() });

/** The words of a page for this user: in their language (users.locale), else in English. */
async function userTranslator(deps: ApiDeps, userId: string | null): Promise<Translator> {
  // Failing to read the language never turns a page into an error: it is then written in English.
  const user = userId ? await findUser(deps.db, userId).catch(() => undefined) : undefined;
  return translator(user?.locale);
}

/** A bad link names no user: the browser's preferred language (Accept-Language), else English. */
const browserTranslator = (req: Request): Translator => translator(req.acceptsLanguages(...LANGUAGES) || null);

const expiredPage = (tr: Translator) =>
  page(tr, tr.t('pages.linkExpired.title'), `<p>${escapeHtml(tr.t('pages.linkExpired.body'))}</p>`);

/** The landing page's signed link: its user in res.locals, or the "expired" page. */
const landingLink =
  (deps: ApiDeps): RequestHandler =>
  (req, res, next) => {
    const userId = verifyToken(deps.config.SIGNING_SECRET, 'landing', req.query.token);
    if (!userId)
      return void res
        .status(401)
        .type('html')
        .send(expiredPage(browserTranslator(req)));
    res.locals.userId = userId;
    next();
  };

function accountItem(deps: ApiDeps, tr: Translator, row: AccountRow): string {
  const label = `${providerName(row.account_type)}${row.name ? ` — ${row.name}` : ''}`;
  const state = plainState(row.status, row.recovery, { mismatch: !!row.view?.incident?.mismatch });
  const stateKey = Object.hasOwn(STATE_KEYS, state.label) ? STATE_KEYS[state.label] : undefined;
  const stateLabel = stateKey ? tr.t(stateKey) : state.label;
  const button = HEALTHY.has(row.status)
    ? ''
    : `<a class="button" href="${reconnectLinkPath(deps.config.SIGNING_SECRET, row.account_id)}">${escapeHtml(tr.t('pages.accounts.reconnect'))}</a>`;
  const when = row.last_update ? tr.formatDate(row.last_update) : '';
  const lastChange = tr.t('pages.accounts.lastChange', { when });
  return `<li data-account-id="${escapeHtml(row.account_id)}" data-status="${escapeHtml(row.status)}"><span class="name">${escapeHtml(label)}</span> <span class="state ${state.tone}">${escapeHtml(stateLabel)}</span>${button}<span class="when">${escapeHtml(lastChange)}</span></li>`;
}

const connectDone = defineRoute({
  method: 'get',
  path: '/connect/done',
  audience: 'pages',
  auth: 'none',
  summary: 'Landing page after the wizard (signed token)',
  query: tokenQuery,
  responses: { 200: 'html', 401: 'html' },
  errors: [],
  use: (deps) => [landingLink(deps)],
  async handler(_input, { deps, res }) {
    const userId = res.locals.userId as string;
    const tr = await userTranslator(deps, userId);
    const rows = await deps.db<AccountRow>('accounts').where({ user_id: userId }).orderBy('created_on');
    const items = rows.map((row) => accountItem(deps, tr, row));
    const list = items.length ? `<ul>${items.join('')}</ul>` : `<p>${escapeHtml(tr.t('pages.accounts.empty'))}</p>`;
    const settling = rows.length === 0 || rows.some((r) => SETTLING.has(r.status) || r.recovery === 'RETRYING');
    const note = settling ? `<p class="note">${escapeHtml(tr.t('pages.accounts.refreshing'))}</p>` : '';
    res.type('html').send(page(tr, tr.t('pages.accounts.title'), list + note, settling ? 3 : undefined));
  },
});

/**
 * The account's hosted link for this user: the one handed out lately while it may be reused (HOSTED_LINK_REUSE),
 * else a new one. Clicks at the same time in this process share one request to Unipile.
 */
const linking = new WeakMap<ApiDeps, Map<string, Promise<string>>>();
function reconnectUrl(deps: ApiDeps, userId: string, accountId: string): Promise<string> {
  let inFlight = linking.get(deps);
  if (!inFlight) linking.set(deps, (inFlight = new Map()));
  const key = JSON.stringify([userId, accountId]);
  let pending = inFlight.get(key);
  if (!pending) {
    const requests = inFlight;
    pending = (async () => {
      const reused = await reusableReconnectLink(deps, { userId, accountId });
      if (reused) return reused;
      const reuseForMs = deps.config.HOSTED_LINK_REUSE;
      return (await createHostedLink(deps, { userId, reconnectAccountId: accountId, reuseForMs })).url;
    })().finally(() => requests.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

/** The reconnect link's signature, checked first (an HMAC, no I/O): only valid links are counted by the limits. */
const reconnectLink =
  (deps: ApiDeps): RequestHandler =>
  (req, res, next) => {
    if (verifyToken(deps.config.SIGNING_SECRET, 'reconnect', req.query.token) === req.params.accountId) return next();
    res
      .status(401)
      .type('html')
      .send(expiredPage(browserTranslator(req)));
  };

const reconnectPage = defineRoute({
  method: 'get',
  path: '/accounts/:accountId/reconnect',
  audience: 'pages',
  auth: 'none',
  summary:
    "Email links: 302 to the account's hosted link, reused while fresh (HOSTED_LINK_REUSE); 429 past RECONNECT_PAGE_RATE_LIMIT",
  params: accountParams,
  query: tokenQuery,
  responses: { 302: null, 401: 'html', 404: 'html', 429: 'html', 503: 'html' },
  errors: [],
  use: (deps) => [reconnectLink(deps), ...reconnectPageRateLimit(deps.config.RECONNECT_PAGE_RATE_LIMIT)],
  async handler({ params: { accountId } }, { deps, res }) {
    const row = await findAccount(deps.db, accountId);
    // Only a page that is shown reads the user's language: the redirect needs no words.
    const words = () => userTranslator(deps, row?.user_id ?? null);
    if (!row || !row.user_id || row.status === 'DELETED') {
      const tr = await words();
      const body = `<p>${escapeHtml(tr.t('pages.notFound.body'))}</p>`;
      res
        .status(404)
        .type('html')
        .send(page(tr, tr.t('pages.notFound.title'), body));
      return;
    }
    try {
      res.redirect(302, await reconnectUrl(deps, row.user_id, accountId));
    } catch (err) {
      const tr = await words();
      if (err instanceof UnipileBudgetError) {
        const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
        res.setHeader('Retry-After', String(seconds));
        const body = `<p>${escapeHtml(tr.t('pages.tryAgain.tooMany', { count: seconds }))}</p>`;
        res
          .status(429)
          .type('html')
          .send(page(tr, tr.t('pages.tryAgain.title'), body));
        return;
      }
      deps.logger.warn({ accountId, err: (err as Error).message }, 'reconnect page: no hosted link');
      res
        .status(503)
        .type('html')
        .send(page(tr, tr.t('pages.tryAgain.title'), `<p>${escapeHtml(tr.t('pages.tryAgain.unreachable'))}</p>`));
    }
  },
});

export const pageRoutes: Route[] = [connectDone, reconnectPage];
