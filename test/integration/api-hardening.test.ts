import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { RateLimitRequestHandler } from 'express-rate-limit';
import { extensionRateLimit } from '../../src/api/http/rate-limits';
import { recordReliability } from '../helpers/reliability';
import { cookieBody, sleep, Stack, waitFor } from '../helpers/stack';

// The API's smaller holes (issue 16): rate limits that one route spelled three ways or a flood of random tokens
// could get round, a dead receipt whose replay would undo newer events, and extension tokens that never expired
// and could not be listed or revoked at once. Everything is read through the HTTP surface a client has.
describe('API hardening', () => {
  const stack = new Stack({ env: { WEBHOOK_RATE_LIMIT: '20', EXTENSION_RATE_LIMIT: '3' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());
  const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to.includes(email));

  test('one webhook route spelled with capitals or a trailing slash shares one per-address budget', async () => {
    const account = stack.sim.createAccount({ type: 'LINKEDIN' });
    const paths = [
      '/webhooks/unipile/account-status',
      '/Webhooks/unipile/account-status',
      '/webhooks/unipile/account-status/',
    ];
    // An address of its own (the API trusts X-Forwarded-For from loopback), so the simulator's webhooks from
    // 127.0.0.1 in other tests neither spend nor share this budget.
    const from = { 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET, 'x-forwarded-for': '198.51.100.77' };
    const body = { AccountStatus: { account_id: account.id, account_type: 'LINKEDIN', message: 'CONNECTING' } };
    const statuses: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
    const mailsBefore = stack.smtp.messages.length;
    for (let i = 0; i < 30; i++) {
      const path = paths[i % paths.length]!;
      statuses[path]!.push((await stack.api$('POST', path, body, from)).status);
    }
    const all = Object.values(statuses).flat();
    const accepted = all.filter((s) => s === 200).length;
    const stored = await stack.db('webhook_receipts').where({ account_id: account.id }).count<{ count: string }[]>();
    recordReliability({
      kind: 'abuse',
      injected: '30 webhooks from one address, alternating three spellings of the account-status route',
      times: 30,
      expected: 'one budget of WEBHOOK_RATE_LIMIT (20) for the route, whatever its spelling; only accepted ones stored',
      observed: `${accepted} accepted, ${all.length - accepted} answered 429, ${stored[0]!.count} stored`,
      eventsLost: accepted - Number(stored[0]!.count),
      // CONNECTING owes no email: any sent would be one too many.
      emailsLost: null,
      duplicateEmails: stack.smtp.messages.length - mailsBefore,
    });
    expect(all.every((s) => s === 200 || s === 429)).toBe(true);
    expect(accepted).toBe(20);
    // Every spelling reached the route (a 200 before the budget ran out) and every spelling was cut after it.
    for (const path of paths) {
      expect(statuses[path]!.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(statuses[path]!.slice(-3)).toEqual([429, 429, 429]);
    }
    expect(Number(stored[0]!.count)).toBe(accepted);
  });

  test('a flood of random extension tokens from one address is cut by the address limit, leaving no entry per token', async () => {
    // The limiter as the API mounts it, in front of a route that answers 202, on a real Express server.
    const limit = 2;
    const limiters = extensionRateLimit(limit);
    const app = express();
    let handled = 0;
    app.post('/cookies', ...limiters, (_req, res) => void res.status(202).end(String(++handled)));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cookies`;
    try {
      const tokens = Array.from({ length: 40 }, () => `ext_${randomBytes(24).toString('base64url')}`);
      const statuses: number[] = [];
      for (const token of tokens)
        statuses.push((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status);
      const addressLimit = limit * 4;
      // Entries the limiters hold for the tokens sent after the address was cut: each would be memory per request.
      let entries = 0;
      for (const token of tokens.slice(addressLimit)) {
        const key = createHash('sha256').update(`Bearer ${token}`).digest('base64url');
        for (const limiter of limiters as RateLimitRequestHandler[])
          if ((await limiter.getKey(key)) !== undefined) entries++;
      }
      recordReliability({
        kind: 'abuse',
        injected: `${tokens.length} cookie posts from one address, each with a new random token`,
        times: tokens.length,
        expected: `cut at the address limit (${addressLimit}); no limiter entry for a token refused by it`,
        observed: `${statuses.filter((s) => s === 429).length} answered 429; ${entries} per-token entries after the cut`,
        // Posts answered 202 that the route never handled (none may be lost behind the limiters).
        eventsLost: statuses.filter((s) => s === 202).length - handled,
        emailsLost: null,
        duplicateEmails: null,
      });
      expect(statuses.slice(0, addressLimit).every((s) => s === 202)).toBe(true);
      expect(statuses.slice(addressLimit).every((s) => s === 429)).toBe(true);
      expect(entries).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('replaying a dead status receipt older than a forwarded one records it as stale; a newer one is applied', async () => {
    const staleAccount = await stack.connectedAccount({ userId: 'stale-user', provider: 'WHATSAPP' });
    const controlAccount = await stack.connectedAccount({ userId: 'fresh-user', provider: 'WHATSAPP' });
    // A CREDENTIALS receipt the forwarder parked as dead (Temporal refused it RECEIPT_MAX_ATTEMPTS times), as an
    // operator finds it in GET /api/receipts.
    const staleId = await stack.parkDeadReceipt(staleAccount, 'CREDENTIALS');
    // Then the account is reported OK again, and that newer event is forwarded.
    expect((await stack.postWebhook(staleAccount, 'OK', 'WHATSAPP')).status).toBe(200);
    await waitFor(
      async () =>
        (await stack.db('webhook_receipts').where({ account_id: staleAccount, state: 'pending' })).length === 0,
      30_000,
      'the newer OK forwarded',
    );
    // The control: a dead CREDENTIALS that nothing newer has overtaken.
    const controlId = await stack.parkDeadReceipt(controlAccount, 'CREDENTIALS');

    const dead = (await stack.api$('GET', '/api/receipts?state=dead')).json.items.map((r: { id: number }) => r.id);
    expect(dead).toEqual(expect.arrayContaining([staleId, controlId]));

    const replayedAt = Date.now();
    const stale = await stack.api$('POST', `/api/receipts/${staleId}/replay`);
    const control = await stack.api$('POST', `/api/receipts/${controlId}/replay`);
    expect(control.status).toBe(202);
    expect(control.json).toMatchObject({ id: controlId, state: 'pending' });
    // The control is applied: CREDENTIALS and its email, which shows how soon a replayed event takes effect.
    await waitFor(() => mailsTo('fresh-user@example.test').length === 1, 30_000, "the control's email");
    await waitFor(async () => (await stack.accountRow(controlAccount))?.status === 'CREDENTIALS', 10_000, 'applied');
    const effectMs = Date.now() - replayedAt;
    // Twice as long again, and the stale one has still changed nothing.
    await sleep(Math.max(2000, 2 * effectMs));
    const staleRow = await stack.accountRow(staleAccount);
    const staleEvents = await stack.events(staleAccount);
    const staleMails = mailsTo('stale-user@example.test').length;
    recordReliability({
      injected: 'a dead CREDENTIALS receipt replayed after a newer OK was forwarded (and a control with none newer)',
      times: 1,
      expected: 'stale one recorded, not applied (account stays OK, no incident, no email); control applied',
      observed: `stale: ${stale.status} ${JSON.stringify(stale.json)}, account ${staleRow.status}, ${staleMails} emails; control: ${mailsTo('fresh-user@example.test').length} email`,
      // The control's event and email are the ones owed; anything for the stale account is one too many.
      eventsLost: (await stack.accountRow(controlAccount)).status === 'CREDENTIALS' ? 0 : 1,
      emailsLost: Math.max(0, 1 - mailsTo('fresh-user@example.test').length),
      duplicateEmails: staleMails + Math.max(0, mailsTo('fresh-user@example.test').length - 1),
    });
    expect(stale.status).toBe(200);
    expect(stale.json).toEqual({ id: staleId, state: 'forwarded', outcome: 'stale' });
    expect(staleRow.status).toBe('OK');
    expect(staleMails).toBe(0);
    expect(staleEvents.filter((e) => e.type === 'incident_opened')).toEqual([]);
    expect(staleEvents).toContainEqual(
      expect.objectContaining({
        type: 'event_ignored',
        data: expect.objectContaining({ message: 'CREDENTIALS', reason: 'stale', receiptId: staleId }),
      }),
    );
    // It left the dead list and is not queued again.
    const stillDead = (await stack.api$('GET', '/api/receipts?state=dead')).json.items.map((r: { id: number }) => r.id);
    const pending = (await stack.api$('GET', '/api/receipts?state=pending')).json.items.map(
      (r: { id: number }) => r.id,
    );
    expect(stillDead).not.toContain(staleId);
    expect(pending).not.toContain(staleId);
    // Replaying it again is refused: it is no longer dead.
    expect((await stack.api$('POST', `/api/receipts/${staleId}/replay`)).status).toBe(409);
  });

  describe('extension tokens', () => {
    const checkpoint = (token: string) =>
      stack.api$(
        'POST',
        '/api/accounts/no-such-account/checkpoint',
        { code: '123456' },
        {
          authorization: `Bearer ${token}`,
        },
      );

    test('GET lists them (id, created, last used, expiry; never the token); DELETE revokes all of them', async () => {
      await stack.api$('PUT', '/api/users/tok-user', { email: 'tok@example.test' });
      const first = await stack.api$('POST', '/api/users/tok-user/extension-token');
      const second = await stack.api$('POST', '/api/users/tok-user/extension-token');
      const others = await stack.extensionToken('tok-other');
      // Used once (a valid token with no checkpoint waiting: 404, after the token was accepted).
      expect((await checkpoint(first.json.token)).status).toBe(404);

      const listed = await stack.api$('GET', '/api/users/tok-user/extension-tokens');
      expect(listed.status).toBe(200);
      expect(listed.text).not.toContain(first.json.token);
      expect(listed.text).not.toContain(second.json.token);
      const items = listed.json.items as {
        tokenId: string;
        createdAt: string;
        lastUsedAt: string | null;
        expiresAt: string;
      }[];
      expect(items.map((i) => i.tokenId).sort()).toEqual([first.json.tokenId, second.json.tokenId].sort());
      const used = items.find((i) => i.tokenId === first.json.tokenId)!;
      expect(used.lastUsedAt).not.toBeNull();
      expect(items.find((i) => i.tokenId === second.json.tokenId)!.lastUsedAt).toBeNull();
      // EXTENSION_TOKEN_TTL, 90 days by default.
      expect(Date.parse(used.expiresAt) - Date.parse(used.createdAt)).toBe(90 * 24 * 3_600_000);

      // A single revoke whose token id came out empty does not revoke them all.
      expect((await stack.api$('DELETE', '/api/users/tok-user/extension-tokens/')).status).toBe(404);
      expect((await checkpoint(second.json.token)).status).toBe(404);
      const revoked = await stack.api$('DELETE', '/api/users/tok-user/extension-tokens');
      expect(revoked.status).toBe(200);
      expect(revoked.json).toEqual({ revoked: 2 });
      for (const token of [first.json.token, second.json.token]) {
        expect((await checkpoint(token)).status).toBe(401);
        expect((await stack.postCookies(token, cookieBody('AQEDArevoked-all-1', 'm-revoked'))).status).toBe(401);
      }
      expect((await stack.api$('GET', '/api/users/tok-user/extension-tokens')).json.items).toEqual([]);
      // Another user's token is untouched.
      expect((await checkpoint(others)).status).toBe(404);
    });
  });
});

describe('extension tokens expire', () => {
  const stack = new Stack({ workers: false, env: { EXTENSION_TOKEN_TTL: '6s' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('past EXTENSION_TOKEN_TTL a token gets 401 on the cookie endpoint and on /checkpoint', async () => {
    const issuing = Date.now();
    const issued = await stack.api$('POST', '/api/users/short-lived/extension-token');
    const issuedBy = Date.now();
    const token = issued.json.token as string;
    const checkpoint = () =>
      stack.api$(
        'POST',
        '/api/accounts/no-such-account/checkpoint',
        { code: '123456' },
        {
          authorization: `Bearer ${token}`,
        },
      );
    // Accepted while young: no checkpoint waits (404), and a body the cookie route refuses after the token (400).
    expect((await checkpoint()).status).toBe(404);
    expect((await stack.postCookies(token, { li_at: 'x' })).status).toBe(400);
    await waitFor(async () => (await checkpoint()).status === 401, 20_000, 'the token expired');
    const expired = await stack.postCookies(token, { li_at: 'x' });
    expect(expired.status).toBe(401);
    expect(expired.json.error.code).toBe('unauthorized');
    expect(expired.text).not.toContain(token);
    // The answer that issued it said when (6 s after, within the second the request took).
    const expiresAt = Date.parse(issued.json.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(issuing - 1000 + 6000);
    expect(expiresAt).toBeLessThanOrEqual(issuedBy + 1000 + 6000);
  });
});
