// Provider incident: N accounts of one provider fail within about a minute. Measured: one provider incident, how
// long after the threshold was crossed it opened, no email while it is open, and once an operator closes it, how
// long the held emails take to go out and at what rate, none lost and none twice (counted at the bench's mail
// outbox, by account).
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { composeAccountEmail } from '../../src/email/account-emails';
import { createMailer } from '../../src/email/mailer';
import type { Bench } from '../environment';
import { closedLoop, log, openLoop, round, sleep, until } from '../harness';
import type { Scenario } from './scenario';

const PROVIDER = 'GOOGLE_OAUTH';
/** The failures are spread over this long: "failing within a minute". */
const FAIL_OVER_MS = 50_000;
const CHUNK = 1000;

const emailOf = (accountId: string) => `pi-${accountId}@bench.test`.toLowerCase();

/** Each .eml file read once: its recipient (lower case) and when it was written. */
const parsed = new Map<string, { to: string; at: number }>();

/** Emails in the outbox, by recipient (lower case): every .eml file's To header, with the times they were written. */
async function emailsByRecipient(dir: string): Promise<Map<string, number[]>> {
  let files: string[] = [];
  try {
    files = await readdir(dir);
  } catch {
    files = [];
  }
  for (const file of files) {
    if (!file.endsWith('.eml') || parsed.has(file)) continue;
    const text = await readFile(join(dir, file), 'utf8');
    const to = /^To: (.*)$/im.exec(text)?.[1];
    // A file still being written has no header yet: read again next time rather than remember it as nobody's.
    if (to === undefined) continue;
    const address = (/<([^>]+)>/.exec(to)?.[1] ?? to).trim().toLowerCase();
    // The file name starts with the write time (ISO, with - for : and .).
    const stamp = file.slice(0, 24).replace(/^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z.*/, '$1:$2:$3.$4Z');
    parsed.set(file, { to: address, at: Date.parse(stamp) });
  }
  const found = new Map<string, number[]>();
  for (const { to, at } of parsed.values()) found.set(to, [...(found.get(to) ?? []), at]);
  return found;
}

async function providerState(bench: Bench) {
  const res = await fetch(`${bench.apiUrl}/api/providers`, {
    headers: { authorization: `Bearer ${bench.settings.apiToken}` },
  });
  const body = (await res.json()) as {
    providers: {
      provider: string;
      watched: number;
      broken: number;
      incident: null | { id: number; heldEmails: number };
    }[];
  };
  return body.providers.find((p) => p.provider === PROVIDER);
}

/**
 * The email rate the machine allows: the product's mailer alone, sending the same first email with 20 in flight,
 * into the outbox kind the benchmark's worker writes (.eml files) and to an SMTP server on this machine (which
 * reads and discards each message, in the benchmark's process).
 */
async function mailerCeilings(bench: Bench, count: number) {
  const content = composeAccountEmail({
    kind: 'reconnect_needed',
    locale: 'en',
    provider: PROVIDER,
    accountId: 'acc_ceiling',
    accountName: 'bench@example.com',
    userName: 'Bench',
    reconnectUrl: `${bench.apiUrl}/accounts/acc_ceiling/reconnect?token=x`,
    reminderNumber: 0,
    staleCookie: false,
  });
  const email = (i: number) => ({ from: 'bench@localhost', to: `ceiling-${i}@bench.test`, ...content });
  const dir = mkdtempSync(join(bench.tmp, 'ceiling-outbox-'));
  const files = createMailer(pathToFileURL(dir).href);
  const intoFiles = await closedLoop(count, 20, async (i) => void (await files.send(email(i))));
  files.close();
  rmSync(dir, { recursive: true, force: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _session, callback) => {
      stream.on('end', () => callback());
      stream.resume();
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.server.address() as AddressInfo).port;
  const smtp = createMailer(`smtp://127.0.0.1:${port}`);
  const overSmtp = await closedLoop(count, 20, async (i) => void (await smtp.send(email(i))));
  smtp.close();
  await new Promise<void>((done) => server.close(() => done()));
  return { emails: count, intoFilesPerSecond: intoFiles.perSecond, overSmtpPerSecond: overSmtp.perSecond };
}

export const providerIncident: Scenario = {
  name: 'provider-incident',
  needs: [],
  stack: true,
  async run(bench) {
    const n = bench.settings.providerIncidentAccounts;
    const outbox = join(bench.tmp, 'outbox');
    log(`provider incident: ${n} ${PROVIDER} accounts, each with its user's email`);
    const ids = Array.from({ length: n }, () => bench.sim.createAccount({ type: PROVIDER }).id);
    // Users and their accounts written first, as the accounts table holds them while they are watched (status OK),
    // so each account has a contact and counts as watched. Each account's workflow starts with its failure
    // (signal-with-start): the same start an earlier OK would have cost, without a separate phase of 10,000 starts.
    for (let i = 0; i < n; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      await bench.db('users').insert(chunk.map((id) => ({ id: `pi-${id}`, email: emailOf(id), name: 'Bench' })));
      await bench.db('accounts').insert(
        chunk.map((id) => ({
          account_id: id,
          workflow_id: `account-${id}`,
          user_id: `pi-${id}`,
          account_type: PROVIDER,
          status: 'OK',
        })),
      );
    }

    log(`provider incident: ${n} accounts lose their credentials over ${FAIL_OVER_MS / 1000} s`);
    const t0 = Date.now();
    const posted = await openLoop(n, (n * 1000) / FAIL_OVER_MS, (i) => bench.webhook(ids[i]!, 'CREDENTIALS', PROVIDER));
    await until(async () => !!(await providerState(bench))?.incident, 600_000, 'the provider incident', 500);
    const [incident] = (await bench
      .db('provider_incidents')
      .where({ provider: PROVIDER })
      .select('id', 'opened_at')) as {
      id: string;
      opened_at: Date;
    }[];
    const incidents = Number(
      (await bench.db('provider_incidents').where({ provider: PROVIDER }).count({ n: '*' }))[0]!.n,
    );
    // When the threshold was crossed: the k-th account to fail, k = max(minimum, share of the watched).
    const k = Math.max(20, Math.ceil(0.2 * n));
    // Crossed when the k-th failure webhook was stored: the detector counts stored failures not yet applied too.
    const crossed = (await bench.db.raw(
      `select r.received_at as occurred_at from webhook_receipts r join accounts a using (account_id)
        where r.source = 'account_status' and r.message = 'CREDENTIALS' and a.account_type = ?
        order by r.received_at offset ? limit 1`,
      [PROVIDER, k - 1],
    )) as { rows: { occurred_at: Date }[] };
    const crossedAt = new Date(crossed.rows[0]!.occurred_at).getTime();
    const openAfterThresholdS = (new Date(incident!.opened_at).getTime() - crossedAt) / 1000;
    const openedAfterFirstFailureS = (new Date(incident!.opened_at).getTime() - t0) / 1000;
    log(
      `provider incident: opened ${openAfterThresholdS.toFixed(1)} s after the threshold was crossed ` +
        `(${openedAfterFirstFailureS.toFixed(1)} s after the first failure); ${incidents} incident(s)`,
    );

    const mine = new Set(ids.map(emailOf));
    const countMine = async () => {
      const all = await emailsByRecipient(outbox);
      return [...all.entries()].filter(([to]) => mine.has(to));
    };
    // Accounts whose first email went out before the incident opened (the keeper works through the burst at its own
    // pace) are not held; every other one is, once its EMAIL_SETTLE has passed.
    const openedAtMs = new Date(incident!.opened_at).getTime();
    const sentBefore = async () => (await countMine()).filter(([, t]) => t.some((at) => at < openedAtMs)).length;
    await until(
      async () => ((await providerState(bench))?.incident?.heldEmails ?? 0) + (await sentBefore()) >= n,
      1_800_000,
      'emails held',
      1000,
    );
    const heldAllAfterS = (Date.now() - t0) / 1000;
    const emailedBeforeOpen = await sentBefore();
    const whileOpen = (await countMine()).reduce((s, [, t]) => s + t.filter((at) => at >= openedAtMs).length, 0);

    log(`provider incident: open, ${n} emails held, ${whileOpen} sent while open; an operator closes it`);
    const closeAt = Date.now();
    const close = await fetch(`${bench.apiUrl}/api/providers/${PROVIDER}/incident`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bench.settings.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'close' }),
    });
    const closeAnsweredS = (Date.now() - closeAt) / 1000;
    if (close.status !== 200) throw new Error(`close answered ${close.status}`);
    let sent: [string, number[]][] = [];
    let lastProgress = Date.now();
    try {
      await until(
        async () => {
          sent = await countMine();
          if (Date.now() - lastProgress > 30_000) {
            lastProgress = Date.now();
            log(
              `provider incident: ${sent.length} of ${n} held emails sent, ${(lastProgress - closeAt) / 1000} s after the close`,
            );
          }
          return sent.length === n;
        },
        1_800_000,
        'held emails sent',
        1000,
      );
    } catch {
      // reported below as lost
    }
    await sleep(5000);
    sent = await countMine();
    const times = sent.flatMap(([, t]) => t).sort((a, b) => a - b);
    const lastAt = times[times.length - 1] ?? closeAt;
    const sendSeconds = (lastAt - closeAt) / 1000;
    const lost = n - sent.length;
    const duplicates = sent.filter(([, t]) => t.length > 1).length;
    log('provider incident: the mailer alone, for the email ceiling');
    const mailer = await mailerCeilings(bench, Math.min(n, 2000));
    bench.out.providerIncident = {
      accounts: n,
      provider: PROVIDER,
      failuresPostedSeconds: posted.seconds,
      failuresPostErrors: posted.errors,
      incidents,
      incidentId: Number(incident!.id),
      openAfterThresholdSeconds: round(openAfterThresholdS, 1),
      openedAfterFirstFailureSeconds: round(openedAfterFirstFailureS, 1),
      allHeldAfterFirstFailureSeconds: round(heldAllAfterS, 1),
      emailedBeforeOpen,
      emailsWhileOpen: whileOpen,
      closeAnsweredSeconds: round(closeAnsweredS, 2),
      heldEmailsSentSeconds: round(sendSeconds, 1),
      emailsPerSecond: round(sent.length / Math.max(sendSeconds, 0.001), 1),
      lost,
      duplicates,
      mailer,
    };
    log(
      `provider incident: ${incidents} incident(s), opened ${openAfterThresholdS.toFixed(1)} s after the threshold; ` +
        `${whileOpen} emails while open; after the close ${sent.length} emails in ${sendSeconds.toFixed(1)} s, ` +
        `${lost} lost, ${duplicates} twice`,
    );
    if (incidents !== 1 || whileOpen > 0 || lost > 0 || duplicates > 0) {
      log('provider incident: FAILED (one incident, no email while open, none lost, none twice)');
      process.exitCode = 1;
    }
  },
};
