import { Router } from 'express';
import { findAccount, type AccountRow } from '../db/repository';
import { escapeHtml } from '../html';
import { providerName } from '../email/account-emails';
import { reconnectLinkPath, verifyToken } from '../tokens';
import type { ApiDeps } from './deps';
import { createHostedLink } from './links';
import { plainState, SETTLING } from '../plain-state';

const HEALTHY = new Set(['OK', 'PENDING', 'CONNECTING', 'DELETED']);
/** While an account is on its way up, the page refreshes itself. */
function page(title: string, body: string, refreshSeconds?: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
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

/** Pages for people: the hosted-auth landing page and the reconnect redirect that email links point to. */
export function peoplePages(deps: ApiDeps): Router {
  const { db, config } = deps;
  const router = Router();

  router.get('/connect/done', async (req, res) => {
    const userId = verifyToken(config.SIGNING_SECRET, 'landing', req.query.token);
    if (!userId) {
      res.status(401).type('html').send(page('Link expired', '<p>This link is invalid or has expired.</p>'));
      return;
    }
    const rows = await db<AccountRow>('accounts').where({ user_id: userId }).orderBy('created_on');
    const items = rows.map((row) => {
      const label = `${providerName(row.account_type)}${row.name ? ` — ${row.name}` : ''}`;
      const state = plainState(row.status, row.recovery);
      const button = HEALTHY.has(row.status)
        ? ''
        : `<a class="button" href="${reconnectLinkPath(config.SIGNING_SECRET, row.account_id)}">Reconnect</a>`;
      const when = row.last_update ? new Date(row.last_update).toUTCString() : '';
      return `<li data-account-id="${escapeHtml(row.account_id)}" data-status="${escapeHtml(row.status)}"><span class="name">${escapeHtml(label)}</span> <span class="state ${state.tone}">${escapeHtml(state.label)}</span>${button}<span class="when">Last change: ${escapeHtml(when)}</span></li>`;
    });
    const list = items.length
      ? `<ul>${items.join('')}</ul>`
      : '<p>No connected accounts yet. If you just connected one, it appears here in a moment.</p>';
    const settling = rows.length === 0 || rows.some((r) => SETTLING.has(r.status) || r.recovery === 'RETRYING');
    const note = settling ? '<p class="note">This page refreshes by itself while accounts connect.</p>' : '';
    res.type('html').send(page('Your connected accounts', list + note, settling ? 3 : undefined));
  });

  router.get('/accounts/:accountId/reconnect', async (req, res) => {
    const accountId = req.params.accountId;
    if (verifyToken(config.SIGNING_SECRET, 'reconnect', req.query.token) !== accountId) {
      res.status(401).type('html').send(page('Link expired', '<p>This link is invalid or has expired.</p>'));
      return;
    }
    const row = await findAccount(db, accountId);
    if (!row || !row.user_id || row.status === 'DELETED') {
      res.status(404).type('html').send(page('Account not found', '<p>This account no longer exists.</p>'));
      return;
    }
    try {
      // Hosted links die daily at Unipile: make a fresh one on every click.
      const { url } = await createHostedLink(deps, {
        userId: row.user_id,
        reconnectAccountId: accountId,
      });
      res.redirect(302, url);
    } catch {
      res
        .status(503)
        .type('html')
        .send(page('Try again shortly', '<p>We could not reach our provider. Please try again in a minute.</p>'));
    }
  });

  return router;
}
