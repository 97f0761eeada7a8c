// Provider incidents' activities, on the main task queue: the singleton workflow's checks and operator actions, the
// account workflow's question before each email, and waking the accounts a closed incident held.
import { Context } from '@temporalio/activity';
import {
  checkEmailHold,
  DEFAULT_PROVIDER_INCIDENT_SETTINGS,
  evaluateProviders,
  operatorAction,
  releaseHolds,
} from '../../providers/incidents';
import type {
  ProviderActionResult,
  ProviderEvaluation,
  ProviderIncidentAction,
} from '../../workflows/provider-incidents/contract';
import type { ActivityDeps } from '../deps';

export function createProviderBookkeepingActivities(
  deps: Pick<ActivityDeps, 'db' | 'backendEvents' | 'providerIncidents'>,
) {
  const { db } = deps;
  const settings = deps.providerIncidents ?? DEFAULT_PROVIDER_INCIDENT_SETTINGS;
  const opts = { backendEvents: !!deps.backendEvents };
  return {
    /** One check of every provider: incidents opened and closed by the rules; what operators see. */
    async evaluateProviderIncidents(): Promise<ProviderEvaluation> {
      return evaluateProviders(db, settings, opts);
    },

    /** An operator opens or closes a provider's incident; the provider's state after it. */
    async applyProviderIncidentAction(input: ProviderIncidentAction): Promise<ProviderActionResult> {
      const r = await operatorAction(db, settings, input, opts);
      return r.outcome === 'done'
        ? { outcome: 'done', changed: r.changed, state: r.state }
        : { outcome: 'no_open_incident', state: r.state };
    },

    /**
     * Before each email: is the account's provider in incident? Held, the account is listed so that the close wakes
     * it (providerIncidentClosed signal); not held, any earlier listing of it is dropped.
     */
    async checkEmailHold(input: {
      accountId: string;
      provider: string | null;
    }): Promise<{ held: false } | { held: true; incidentId: number }> {
      return checkEmailHold(db, input);
    },

    /**
     * Wakes the accounts whose emails closed incidents held, page by page with a heartbeat, for about a minute;
     * `more` asks to be called again (10,000 held accounts take a few calls).
     */
    async releaseProviderHolds(): Promise<{ released: number; more: boolean }> {
      const ctx = Context.current();
      return releaseHolds(db, ctx.client, { budgetMs: 60_000, progress: (n) => ctx.heartbeat(n) });
    },
  };
}
