// Provider incidents in PostgreSQL: the counts the rules judge, the incidents opened and closed, the emails held
// while one is open and their release once it closes. Used by the bookkeeping activities (writes) and the API
// (reads); raises DomainError only.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import {
  enqueueBackendEvents,
  providerIncidentClosedEvent,
  providerIncidentOpenedEvent,
} from '../backend-events/outbox';
import { accountWorkflowId, providerIncidentClosedSignal } from '../workflows/account/contract';
import type {
  IncidentCloser,
  IncidentOpener,
  ProviderEvaluation,
  ProviderIncidentView,
  ProviderState,
} from '../workflows/provider-incidents/contract';
import { judgeProvider, type ProviderIncidentSettings } from '../workflows/provider-incidents/rules';

/** Defaults of the PROVIDER_INCIDENT_* settings (the worker passes the configured ones). */
export const DEFAULT_PROVIDER_INCIDENT_SETTINGS: ProviderIncidentSettings = {
  minAccounts: 20,
  sharePercent: 20,
  windowMs: 10 * 60_000,
  maxHoldMs: 6 * 3_600_000,
  checkIntervalMs: 15_000,
};

interface IncidentRow {
  id: string | number;
  provider: string;
  opened_at: Date;
  opened_by: IncidentOpener;
  reason: string;
  details: { belowSince?: string | null } & Record<string, unknown>;
}

// A provider's own incident, not an account's: paused accounts are the backend's choice, not a failure.
const NOT_BROKEN = ['NONE', 'PAUSED'];

async function dbNow(db: Knex): Promise<Date> {
  const { rows } = (await db.raw('select now() as now')) as { rows: { now: Date }[] };
  return new Date(rows[0]!.now);
}

/**
 * Watched and broken accounts per provider, and how many opened an incident since `windowStart` and after the
 * provider's last incident closed (so failures from before a close do not reopen it). The recent count reads the
 * partial index on `incident_opened` events: its cost follows the window's failures, not the history's size.
 */
async function readCounts(
  db: Knex,
  windowStart: Date,
): Promise<Map<string, { watched: number; broken: number; openedInWindow: number }>> {
  const totals = (await db('accounts')
    .whereNot({ status: 'DELETED' })
    .whereNotNull('account_type')
    .select('account_type as provider')
    .count({ watched: '*' })
    .select(db.raw('count(*) filter (where recovery not in (?, ?)) as broken', NOT_BROKEN))
    .groupBy('account_type')) as { provider: string; watched: string | number; broken: string | number }[];
  // Failure webhooks stored but not yet applied count too: in a burst of thousands the workflows open their incidents
  // over minutes, while the webhooks are all stored within seconds of arriving. Only pending ones, so that a repeated
  // webhook about an account already broken (applied as no transition) is not a new failure.
  const { rows: recent } = (await db.raw(
    `select x.provider, count(distinct x.account_id) as n from (
       select a.account_type as provider, e.account_id, e.occurred_at as at
         from account_events e join accounts a on a.account_id = e.account_id
        where e.type = 'incident_opened' and e.occurred_at >= ?
          and a.status <> 'DELETED' and a.account_type is not null
       union all
       select a.account_type, r.account_id, r.received_at
         from webhook_receipts r join accounts a on a.account_id = r.account_id
        where r.state = 'pending' and r.source = 'account_status' and r.received_at >= ?
          and r.message in ('CREDENTIALS', 'PERMISSIONS', 'ERROR', 'STOPPED')
          and a.status <> 'DELETED' and a.account_type is not null
     ) x
     where x.at > coalesce(
       (select max(p.closed_at) from provider_incidents p where p.provider = x.provider), '-infinity')
     group by x.provider`,
    [windowStart.toISOString(), windowStart.toISOString()],
  )) as { rows: { provider: string; n: string | number }[] };
  const counts = new Map<string, { watched: number; broken: number; openedInWindow: number }>();
  for (const t of totals) {
    counts.set(t.provider, { watched: Number(t.watched), broken: Number(t.broken), openedInWindow: 0 });
  }
  for (const r of recent) {
    const c = counts.get(r.provider);
    if (c) c.openedInWindow = Number(r.n);
  }
  return counts;
}

async function openIncidentRows(db: Knex): Promise<IncidentRow[]> {
  return (await db('provider_incidents')
    .whereNull('closed_at')
    .select('id', 'provider', 'opened_at', 'opened_by', 'reason', 'details')) as IncidentRow[];
}

async function heldCounts(db: Knex): Promise<Map<number, number>> {
  const rows = (await db('provider_email_holds').select('incident_id').count({ n: '*' }).groupBy('incident_id')) as {
    incident_id: string | number;
    n: string | number;
  }[];
  return new Map(rows.map((r) => [Number(r.incident_id), Number(r.n)]));
}

/** Held emails whose incident is no longer open: still to wake. */
async function countHoldsToRelease(db: Knex): Promise<number> {
  const row = (await db('provider_email_holds as h')
    .whereNotExists(
      db('provider_incidents as i').whereRaw('i.id = h.incident_id').whereNull('i.closed_at').select(db.raw('1')),
    )
    .count({ n: '*' })
    .first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}

function incidentView(row: IncidentRow, held: Map<number, number>, s: ProviderIncidentSettings): ProviderIncidentView {
  const openedAt = new Date(row.opened_at);
  return {
    id: Number(row.id),
    openedAt: openedAt.toISOString(),
    openedBy: row.opened_by,
    reason: row.reason,
    belowSince: row.details?.belowSince ?? null,
    closesBy: new Date(openedAt.getTime() + s.maxHoldMs).toISOString(),
    heldEmails: held.get(Number(row.id)) ?? 0,
  };
}

/** Every provider with accounts or an open incident, as operators see it now. */
export async function providerStates(db: Knex, s: ProviderIncidentSettings): Promise<ProviderState[]> {
  const now = await dbNow(db);
  const counts = await readCounts(db, new Date(now.getTime() - s.windowMs));
  const open = await openIncidentRows(db);
  const held = await heldCounts(db);
  const names = [...new Set([...counts.keys(), ...open.map((r) => r.provider)])].sort();
  return names.map((provider) => {
    const c = counts.get(provider) ?? { watched: 0, broken: 0, openedInWindow: 0 };
    const row = open.find((r) => r.provider === provider);
    return { provider, ...c, incident: row ? incidentView(row, held, s) : null };
  });
}

async function insertIncident(
  trx: Knex.Transaction,
  provider: string,
  by: IncidentOpener,
  reason: string,
  details: object,
  backendEvents: boolean,
): Promise<number | null> {
  const { rows } = (await trx.raw(
    `insert into provider_incidents (provider, opened_by, reason, details) values (?, ?, ?, ?)
     on conflict (provider) where closed_at is null do nothing returning id, opened_at`,
    [provider, by, reason, JSON.stringify(details)],
  )) as { rows: { id: string; opened_at: Date }[] };
  const row = rows[0];
  if (!row) return null; // already open
  const id = Number(row.id);
  if (backendEvents) {
    const at = new Date(row.opened_at).toISOString();
    await enqueueBackendEvents(trx, [providerIncidentOpenedEvent({ id, provider, openedBy: by, reason, at, details })]);
  }
  return id;
}

async function closeIncident(
  trx: Knex.Transaction,
  id: number,
  by: IncidentCloser,
  reason: string,
  backendEvents: boolean,
): Promise<boolean> {
  const rows = (await trx('provider_incidents')
    .where({ id })
    .whereNull('closed_at')
    .update({ closed_at: trx.fn.now(), closed_by: by, close_reason: reason })
    .returning(['provider', 'opened_at', 'closed_at', 'opened_by'])) as {
    provider: string;
    opened_at: Date;
    closed_at: Date;
    opened_by: string;
  }[];
  const row = rows[0];
  if (!row) return false;
  if (backendEvents) {
    const held = (await trx('provider_email_holds').where({ incident_id: id }).count({ n: '*' }).first()) as
      { n: string | number } | undefined;
    await enqueueBackendEvents(trx, [
      providerIncidentClosedEvent({
        id,
        provider: row.provider,
        openedAt: new Date(row.opened_at).toISOString(),
        openedBy: row.opened_by,
        closedBy: by,
        reason,
        at: new Date(row.closed_at).toISOString(),
        heldEmails: Number(held?.n ?? 0),
      }),
    ]);
  }
  return true;
}

/**
 * One check of every provider: opens and closes incidents by the rules, each in its own short transaction (the
 * partial unique index keeps one open per provider whatever runs at once). Emails held by a closed incident are
 * released afterwards, by releaseHolds: the close is committed first, so an account asking then is not held again.
 */
export async function evaluateProviders(
  db: Knex,
  s: ProviderIncidentSettings,
  opts: { backendEvents: boolean },
): Promise<ProviderEvaluation> {
  const now = await dbNow(db);
  const counts = await readCounts(db, new Date(now.getTime() - s.windowMs));
  const open = await openIncidentRows(db);
  const opened: string[] = [];
  const closed: string[] = [];
  const names = new Set([...counts.keys(), ...open.map((r) => r.provider)]);
  for (const provider of names) {
    const c = counts.get(provider) ?? { watched: 0, broken: 0, openedInWindow: 0 };
    const row = open.find((r) => r.provider === provider);
    const incident = row
      ? {
          openedAt: new Date(row.opened_at).getTime(),
          openedBy: row.opened_by,
          belowSince: row.details?.belowSince ? Date.parse(row.details.belowSince) : null,
        }
      : null;
    const verdict = judgeProvider(c, incident, now.getTime(), s);
    if (verdict.action === 'open') {
      const id = await db.transaction((trx) =>
        insertIncident(trx, provider, 'detector', verdict.reason, { ...c }, opts.backendEvents),
      );
      if (id !== null) opened.push(provider);
    } else if (verdict.action === 'close' && row) {
      const done = await db.transaction((trx) =>
        closeIncident(trx, Number(row.id), verdict.by, verdict.reason, opts.backendEvents),
      );
      if (done) closed.push(provider);
    } else if (verdict.action === 'keep' && row) {
      const belowSince = verdict.belowSince === null ? null : new Date(verdict.belowSince).toISOString();
      if ((row.details?.belowSince ?? null) !== belowSince) {
        await db('provider_incidents')
          .where({ id: row.id })
          .update({ details: db.raw('details || ?::jsonb', [JSON.stringify({ belowSince })]) });
      }
    }
  }
  return {
    at: now.toISOString(),
    providers: await providerStates(db, s),
    opened,
    closed,
    holdsToRelease: await countHoldsToRelease(db),
    checkIntervalMs: s.checkIntervalMs,
  };
}

/** An operator's open or close; the provider's state after it (`changed`: false when it was already so). */
export async function operatorAction(
  db: Knex,
  s: ProviderIncidentSettings,
  input: { provider: string; action: 'open' | 'close' },
  opts: { backendEvents: boolean },
): Promise<{ outcome: 'done' | 'no_open_incident'; changed: boolean; state: ProviderState }> {
  let outcome: 'done' | 'no_open_incident' = 'done';
  let changed = false;
  if (input.action === 'open') {
    const id = await db.transaction((trx) =>
      insertIncident(trx, input.provider, 'operator', 'opened by an operator', {}, opts.backendEvents),
    );
    changed = id !== null;
  } else {
    const row = (await db('provider_incidents')
      .where({ provider: input.provider })
      .whereNull('closed_at')
      .first('id')) as { id: string } | undefined;
    if (!row) outcome = 'no_open_incident';
    else {
      changed = await db.transaction((trx) =>
        closeIncident(trx, Number(row.id), 'operator', 'closed by an operator', opts.backendEvents),
      );
    }
  }
  const state = (await providerStates(db, s)).find((p) => p.provider === input.provider) ?? {
    provider: input.provider,
    watched: 0,
    broken: 0,
    openedInWindow: 0,
    incident: null,
  };
  return { outcome, changed, state };
}

/**
 * Asked by the account workflow before each email. In one transaction: the provider's open incident is read FOR
 * SHARE (a close waits for this to commit, and a hold written here is then seen by the release that follows the
 * close); held, the account's hold row is written; not held, any hold row of the account is dropped.
 */
export async function checkEmailHold(
  db: Knex,
  input: { accountId: string; provider: string | null },
): Promise<{ held: false } | { held: true; incidentId: number }> {
  return db.transaction(async (trx) => {
    const open = input.provider
      ? ((await trx('provider_incidents')
          .where({ provider: input.provider })
          .whereNull('closed_at')
          .forShare()
          .first('id')) as { id: string } | undefined)
      : undefined;
    if (!open) {
      await trx('provider_email_holds').where({ account_id: input.accountId }).delete();
      return { held: false } as const;
    }
    const incidentId = Number(open.id);
    await trx('provider_email_holds')
      .insert({ account_id: input.accountId, provider: input.provider, incident_id: incidentId })
      .onConflict('account_id')
      .merge({
        provider: input.provider,
        incident_id: incidentId,
        // The same incident keeps its first hold time.
        held_at: trx.raw(
          'case when provider_email_holds.incident_id = excluded.incident_id then provider_email_holds.held_at else now() end',
        ),
      });
    return { held: true, incidentId } as const;
  });
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export interface ReleaseOptions {
  pageSize?: number;
  concurrency?: number;
  /** Stop after this long and say there is more (the activity is called again). */
  budgetMs?: number;
  /** Called after each page (the activity heartbeats). */
  progress?: (released: number) => void;
}

/**
 * Wakes the account workflows whose emails a closed incident held: a providerIncidentClosed signal each, its hold
 * row deleted once signalled (at least once: a crash between the two signals again, which the workflow ignores when
 * nothing is held). An account whose workflow is gone (deleted) just loses its row.
 */
export async function releaseHolds(
  db: Knex,
  temporal: Client,
  opts: ReleaseOptions = {},
): Promise<{ released: number; more: boolean }> {
  const { pageSize = 500, concurrency = 32, budgetMs = 60_000 } = opts;
  const started = Date.now();
  let released = 0;
  for (;;) {
    const rows = (await db('provider_email_holds as h')
      .whereNotExists(
        db('provider_incidents as i').whereRaw('i.id = h.incident_id').whereNull('i.closed_at').select(db.raw('1')),
      )
      .orderBy('h.held_at')
      .limit(pageSize)
      .select('h.account_id', 'h.provider', 'h.incident_id')) as {
      account_id: string;
      provider: string;
      incident_id: string | number;
    }[];
    if (rows.length === 0) return { released, more: false };
    await eachLimited(rows, concurrency, async (r) => {
      const incidentId = Number(r.incident_id);
      try {
        await temporal.workflow
          .getHandle(accountWorkflowId(r.account_id))
          .signal(providerIncidentClosedSignal, { provider: r.provider, incidentId });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      await db('provider_email_holds').where({ account_id: r.account_id, incident_id: incidentId }).delete();
      released++;
    });
    opts.progress?.(released);
    if (Date.now() - started > budgetMs) return { released, more: true };
  }
}
