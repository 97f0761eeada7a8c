import { randomBytes } from 'node:crypto';
import { CookieCipher, cookieAad } from '../../src/platform/cipher';
import { reencryptCookies } from '../../src/linkedin/sessions';
import { historyText } from '../helpers/histories';
import { cookieBody, Stack, waitFor, workerLogLines } from '../helpers/stack';

describe('cookie secrecy and key rotation', () => {
  const stack = new Stack();
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const k2 = { id: 'k2', key: randomBytes(32) };
  const LI_AT = `AQEDA-secret-${randomBytes(12).toString('hex')}`;
  const NEW_LI_AT = `AQEDA-secret-${randomBytes(12).toString('hex')}`;
  const secrets = [LI_AT, NEW_LI_AT, `premium-${LI_AT}`, `premium-${NEW_LI_AT}`];

  test('no secret (cookies, tokens, keys; plain or encoded) appears in histories, logs, answers, emails or any table', async () => {
    const { accountId, token } = await stack.linkedinAccount('sec-user', 'member-sec', LI_AT);
    stack.script(
      'reconnect',
      [{ result: 'fail' }, { result: 'checkpoint' }, { result: 'fail' }, { result: 'fail' }],
      accountId,
    );
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => stack.reconnectCalls(accountId).length === 1, 30_000, 'first attempt');
    await stack.postCookies(token, cookieBody(NEW_LI_AT, 'member-sec'));
    await waitFor(() => stack.smtp.messages.some((m) => m.to.includes('sec-user@example.test')), 30_000, 'email');
    await stack.api$('GET', `/api/accounts/${accountId}`);
    await stack.api$('GET', `/api/accounts/${accountId}/events`);

    // The test can fail: the simulator did receive both cookies.
    const sent = JSON.stringify(stack.sim.calls);
    expect(sent).toContain(LI_AT);
    expect(sent).toContain(NEW_LI_AT);

    const workflows: { workflowId: string; runId: string }[] = [];
    for await (const wf of stack.client.workflow.list({ query: `TaskQueue="${stack.config.TEMPORAL_TASK_QUEUE}"` })) {
      workflows.push({ workflowId: wf.workflowId, runId: wf.runId });
    }
    expect(workflows.some((w) => w.workflowId.startsWith('connection-'))).toBe(true); // the cookie connection
    expect(workflows.some((w) => w.workflowId === `account-${accountId}`)).toBe(true);
    // Payloads are decoded: the CREDENTIALS signal sent to the account workflow is readable in its history.
    const accountRuns = workflows.filter((w) => w.workflowId === `account-${accountId}`);
    const accountText = accountRuns
      .map((w) => historyText(stack.config.TEMPORAL_ADDRESS, w.workflowId, w.runId))
      .join();
    expect(accountText).toContain('"message":"CREDENTIALS"');
    // Every secret the service holds, in the forms it could leak in: as is, base64, base64url, hex, URI-encoded.
    const { config } = stack;
    const plain = [
      ...secrets,
      token,
      config.API_TOKEN,
      config.UNIPILE_API_KEY,
      config.UNIPILE_WEBHOOK_SECRET,
      config.SIGNING_SECRET,
      ...config.COOKIE_ENCRYPTION_KEY.map((k) => k.key.toString('base64')),
    ];
    const forms = plain.flatMap((secret) => [
      secret,
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      Buffer.from(secret).toString('hex'),
      encodeURIComponent(secret),
    ]);
    const leaks = (where: string, text: string) =>
      forms.filter((f) => text.includes(f)).map((f) => `${where} contains ${f.slice(0, 12)}…`);
    const found: string[] = [];

    for (const wf of workflows) {
      found.push(...leaks(`history ${wf.workflowId}`, historyText(config.TEMPORAL_ADDRESS, wf.workflowId, wf.runId)));
    }
    // The worker's own lines were captured (activities of this test's task queue ran and logged).
    expect(workerLogLines.some((l) => l.includes(config.TEMPORAL_TASK_QUEUE))).toBe(true);
    expect(stack.logLines.length).toBeGreaterThan(0);
    found.push(...leaks('API logs', stack.logLines.join('\n')), ...leaks('worker logs', workerLogLines.join('\n')));
    // The one answer that shows the extension token, by design, is the one that makes it.
    const answers = stack.responses.filter((r) => !r.includes('"tokenId"'));
    expect(answers.length).toBeGreaterThan(5);
    found.push(...leaks('API answers', answers.join('\n')));
    const mails = stack.smtp.messages.filter((m) => m.to.includes('sec-user@example.test'));
    expect(mails.length).toBeGreaterThan(0);
    found.push(...leaks('emails', JSON.stringify(mails)));
    const tables = (
      await stack.db.raw("select tablename from pg_tables where schemaname = 'public' order by 1")
    ).rows.map((r: { tablename: string }) => r.tablename) as string[];
    expect(tables).toEqual(expect.arrayContaining(['linkedin_sessions', 'extension_tokens', 'hosted_links']));
    for (const table of tables) found.push(...leaks(`table ${table}`, JSON.stringify(await stack.db(table).select())));
    expect(found).toEqual([]);

    const row = await stack.session('sec-user', 'member-sec');
    expect(row.li_at).toMatch(/^v2\.k1\./);
    const cipher = new CookieCipher(stack.config.COOKIE_ENCRYPTION_KEY);
    expect(cipher.decrypt(row.li_at, cookieAad('sec-user', 'member-sec'))).toBe(NEW_LI_AT);
    // Bound to its row: the same ciphertext does not open as another user's.
    expect(() => cipher.decrypt(row.li_at, cookieAad('other-user', 'member-sec'))).toThrow();
  });

  test('key rotation re-encrypts every row; before it, old keys still decrypt', async () => {
    await stack.linkedinAccount('rot-user', 'member-rot', 'AQEDArotation-cookie-1', null);
    const oldKeys = stack.config.COOKIE_ENCRYPTION_KEY;
    const newKey = k2;
    const rotated = new CookieCipher([newKey, ...oldKeys]);
    const before = await stack.db('linkedin_sessions').select();
    expect(before.every((r) => r.cookie_key_id === 'k1')).toBe(true);
    for (const r of before)
      expect(() => rotated.decrypt(r.li_at, cookieAad(r.user_id, r.linkedin_member_id))).not.toThrow();

    expect(await reencryptCookies(stack.db, rotated)).toEqual({ rewritten: before.length, changedMeanwhile: 0 });
    const after = await stack.db('linkedin_sessions').select();
    const onlyNew = new CookieCipher([newKey]);
    for (const r of after) {
      expect(r.cookie_key_id).toBe('k2');
      const plain = onlyNew.decrypt(r.li_at, cookieAad(r.user_id, r.linkedin_member_id));
      const old = before.find((b) => b.id === r.id)!;
      expect(plain).toBe(new CookieCipher(oldKeys).decrypt(old.li_at, cookieAad(old.user_id, old.linkedin_member_id)));
    }
    expect(await reencryptCookies(stack.db, rotated)).toEqual({ rewritten: 0, changedMeanwhile: 0 });
  });

  test('rotation never overwrites a cookie the extension sent while it ran', async () => {
    await stack.linkedinAccount('cas-user', 'member-cas', 'AQEDAcas-cookie-1', null);
    const rotated = new CookieCipher([{ id: 'k3', key: randomBytes(32) }, k2, ...stack.config.COOKIE_ENCRYPTION_KEY]);
    // The extension's newer cookie lands between the rotation's read and its write: the first UPDATE of the
    // rotation is held back until the API has stored the new cookie.
    const sessionRow = await stack.session('cas-user', 'member-cas');
    let raced = false;
    const onQuery = (q: { sql: string; bindings?: unknown[] }): void => {
      if (/^update "linkedin_sessions"/.test(q.sql) && q.bindings?.includes(sessionRow.id)) raced = true;
    };
    stack.db.on('query', onQuery);
    const trx = await stack.db.transaction();
    await trx('linkedin_sessions').where({ id: sessionRow.id }).forUpdate().select('id');
    const rotation = reencryptCookies(stack.db, rotated);
    await waitFor(() => raced, 10_000, 'rotation reached its write');
    // The row is locked: the rotation's compare-and-swap waits; the newer cookie is written first.
    const current = new CookieCipher(stack.config.COOKIE_ENCRYPTION_KEY);
    const aad = cookieAad('cas-user', 'member-cas');
    await trx('linkedin_sessions')
      .where({ id: sessionRow.id })
      .update({ li_at: current.encrypt('AQEDAcas-cookie-2', aad) });
    await trx.commit();
    const result = await rotation;
    stack.db.removeListener('query', onQuery);
    expect(result.changedMeanwhile).toBe(1);
    const after = await stack.session('cas-user', 'member-cas');
    expect(current.decrypt(after.li_at, aad)).toBe('AQEDAcas-cookie-2');
  });
});
