// Control endpoints for what goes wrong beyond one call's script: accounts the provider restricted, LinkedIn cookie
// reconnects whose cookie belongs to another member, a whole provider failing (and recovering) at once, and
// account_status webhooks held back (a webhook that comes late, or not at all).
import type { Express, Request, Response } from 'express';
import { MISMATCH_TYPES, PROVIDER_TYPES, type SimulatorCore } from './sim-state';

const FAILURES = new Set(['CREDENTIALS', 'PERMISSIONS', 'ERROR', 'STOPPED', 'CONNECTING']);
const RECOVERIES = new Set(['OK', 'RECONNECTED', 'SYNC_SUCCESS']);
const MAX_SPREAD_MS = 3_600_000;

type Body = Record<string, unknown>;
const bodyOf = (req: Request): Body => (req.body ?? {}) as Body;

/** spreadMs from a body: absent is 0; anything but a whole number of milliseconds up to an hour is refused. */
function spreadOf(b: Body, res: Response): number | undefined {
  const spread = b.spreadMs ?? 0;
  if (typeof spread !== 'number' || !Number.isInteger(spread) || spread < 0 || spread > MAX_SPREAD_MS) {
    res.status(400).json({ error: `spreadMs must be a whole number of milliseconds from 0 to ${MAX_SPREAD_MS}` });
    return undefined;
  }
  return spread;
}

export function incidentRoutes(sim: SimulatorCore, app: Express): void {
  app.post('/_sim/accounts/:id/restricted', (req, res) => {
    sim.restricted.add(req.params.id);
    res.json({ ok: true, restricted: true });
  });
  app.delete('/_sim/accounts/:id/restricted', (req, res) => {
    sim.restricted.delete(req.params.id);
    res.json({ ok: true, restricted: false });
  });

  app.post('/_sim/accounts/:id/mismatch', (req, res) => {
    const b = bodyOf(req);
    const type = String(b.type ?? 'account_mismatch').replace(/^errors\//, '');
    if (!MISMATCH_TYPES.includes(type)) {
      res.status(400).json({ error: `type must be one of ${MISMATCH_TYPES.join(', ')}` });
      return;
    }
    const times = b.times ?? null;
    if (times !== null && (typeof times !== 'number' || !Number.isInteger(times) || times < 1)) {
      res.status(400).json({ error: 'times must be a positive whole number (absent: every reconnect)' });
      return;
    }
    sim.mismatched.set(req.params.id, { type, times: times as number | null });
    res.json({ ok: true, type: `errors/${type}`, times });
  });
  app.delete('/_sim/accounts/:id/mismatch', (req, res) => {
    sim.mismatched.delete(req.params.id);
    res.json({ ok: true });
  });

  /** The provider's accounts, in id order (so the spread is the same every run). */
  const accountsOf = (provider: string) => {
    const type = PROVIDER_TYPES[provider.toUpperCase()] ?? provider.toUpperCase();
    return [...sim.accounts.values()]
      .filter((a) => a.type === type)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };
  /** Sends one webhook per account, the first at once and the last spreadMs later. */
  const spreadOut = (ids: string[], spreadMs: number, send: (id: string) => void) =>
    ids.forEach((id, i) => {
      const at = ids.length > 1 ? Math.round((i * spreadMs) / (ids.length - 1)) : 0;
      if (at === 0) send(id);
      else sim.later(at, () => send(id));
    });

  // Every account of the provider moves to the failure, each with its account_status webhook.
  app.post(['/_sim/providers/:provider/fail', '/control/providers/:provider/fail'], (req, res) => {
    const b = bodyOf(req);
    const message = String(b.message ?? 'CREDENTIALS');
    if (!FAILURES.has(message)) {
      res.status(400).json({ error: `message must be one of ${[...FAILURES].join(', ')}` });
      return;
    }
    const spreadMs = spreadOf(b, res);
    if (spreadMs === undefined) return;
    const ids = accountsOf(String(req.params.provider)).map((a) => a.id);
    spreadOut(ids, spreadMs, (id) => {
      if (sim.accounts.has(id)) sim.emitStatus(id, message);
    });
    res.json({ ok: true, message, accounts: ids.length, spreadMs });
  });

  // Every account of the provider that is not OK comes back: RECONNECTED after a credentials or permissions
  // failure, OK otherwise (or the message given).
  app.post(['/_sim/providers/:provider/recover', '/control/providers/:provider/recover'], (req, res) => {
    const b = bodyOf(req);
    const given = b.message === undefined ? undefined : String(b.message);
    if (given !== undefined && !RECOVERIES.has(given)) {
      res.status(400).json({ error: `message must be one of ${[...RECOVERIES].join(', ')}` });
      return;
    }
    const spreadMs = spreadOf(b, res);
    if (spreadMs === undefined) return;
    const failing = accountsOf(String(req.params.provider))
      .map((a) => ({ id: a.id, status: a.sources.find((s) => s.status !== 'OK')?.status }))
      .filter((a): a is { id: string; status: string } => a.status !== undefined);
    const messages = new Map(
      failing.map((a) => [
        a.id,
        given ?? (a.status === 'CREDENTIALS' || a.status === 'PERMISSIONS' ? 'RECONNECTED' : 'OK'),
      ]),
    );
    spreadOut([...messages.keys()], spreadMs, (id) => {
      if (!sim.accounts.has(id)) return;
      sim.setStatus(id, 'OK');
      sim.emitStatus(id, messages.get(id)!);
    });
    res.json({ ok: true, accounts: messages.size, spreadMs });
  });

  // Webhooks held back until released (a late webhook), or for the rest of a test (one that never comes).
  app.post('/_sim/webhooks/hold', (_req, res) => {
    sim.holdWebhooks(true);
    res.json({ ok: true, held: true });
  });
  app.post('/_sim/webhooks/release', (_req, res) => {
    res.json({ ok: true, released: sim.holdWebhooks(false) });
  });
}
