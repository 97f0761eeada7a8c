import { Router } from 'express';
import { findAccount, type AccountRow } from '../db/repository';
import { escapeHtml } from '../html';
import { providerName } from '../email/account-emails';
import { reconnectLinkPath, verifyToken } from '../tokens';
import type { ApiDeps } from './deps';
import { createHostedLink } from './links';

const HEALTHY = new Set(['OK', 'PENDING', 'CONNECTING', 'DELETED']);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}li{margin:.5rem 0}
.status{font-weight:bold}a.button{padding:.2rem .6rem;border:1px solid #333;border-radius:4px;text-decoration:none}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
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
      const button = HEALTHY.has(row.status)
        ? ''
        : ` <a class="button" href="${reconnectLinkPath(config.SIGNING_SECRET, row.account_id)}">Reconnect</a>`;
      return `<li data-account-id="${escapeHtml(row.account_id)}">${escapeHtml(label)}: <span class="status">${escapeHtml(row.status)}</span>${button}</li>`;
    });
    const list = items.length ? `<ul>${items.join('')}</ul>` : '<p>No connected accounts yet.</p>';
    res.type('html').send(page('Your connected accounts', list));
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
