// Operators' side of provider incidents: every provider's watched and broken accounts and its incident, and opening
// or closing one by hand. Behind the backend's bearer token.
import { z } from 'zod';
import { providerStates } from '../../providers/incidents';
import { providerIncidentAction, providerIncidentSettings } from '../../providers/workflow';
import { PROVIDER_NAME } from '../../workflows/provider-incidents/contract';
import { defineRoute, type Route } from '../http/route';

const incidentSchema = z.strictObject({
  id: z.number().int(),
  openedAt: z.string(),
  openedBy: z.enum(['detector', 'operator']),
  reason: z.string(),
  belowSince: z.string().nullable(),
  closesBy: z.string(),
  heldEmails: z.number().int(),
});

const providerSchema = z.strictObject({
  provider: z.string(),
  watched: z.number().int(),
  broken: z.number().int(),
  openedInWindow: z.number().int(),
  incident: incidentSchema.nullable(),
});

const providersAnswer = z.strictObject({
  providers: z.array(providerSchema),
  thresholds: z.strictObject({
    minAccounts: z.number().int(),
    sharePercent: z.number(),
    windowMs: z.number().int(),
    maxHoldMs: z.number().int(),
  }),
});

export const providerParams = z.strictObject({
  provider: z.string().regex(PROVIDER_NAME, 'Unipile account type in capitals, such as LINKEDIN or GOOGLE_OAUTH'),
});

export const providerIncidentBody = z.strictObject({ action: z.enum(['open', 'close']) });

const actionAnswer = z.strictObject({ changed: z.boolean(), provider: providerSchema });

const list = defineRoute({
  method: 'get',
  path: '/api/providers',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Every provider with accounts or an open incident: accounts watched (not deleted), broken (an incident of their own), opened an incident within PROVIDER_INCIDENT_WINDOW, and the provider incident if one is open (while it is, no email goes to its users)',
  responses: { 200: providersAnswer },
  errors: [],
  async handler(_input, { deps }) {
    const settings = providerIncidentSettings(deps.config);
    const providers = await providerStates(deps.db, settings);
    const { minAccounts, sharePercent, windowMs, maxHoldMs } = settings;
    return { status: 200, body: { providers, thresholds: { minAccounts, sharePercent, windowMs, maxHoldMs } } };
  },
});

const action = defineRoute({
  method: 'post',
  path: '/api/providers/:provider/incident',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Open (`{action: "open"}`, any provider name matching ^[A-Z_]{2,40}$) or close (`{action: "close"}`) a provider incident by hand: 200 {changed, provider}. A hand-opened incident closes only by hand or after PROVIDER_INCIDENT_MAX_HOLD; closing one wakes the accounts whose emails it held. 409 no_open_incident when closing a provider not in incident',
  params: providerParams,
  body: providerIncidentBody,
  responses: { 200: actionAnswer },
  // Nothing to close (409), Temporal unreachable (503): DomainErrors from providerIncidentAction.
  errors: [409, 503],
  async handler({ params, body }, { deps }) {
    const done = await providerIncidentAction(
      { temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE },
      { provider: params.provider, action: body.action },
    );
    return { status: 200, body: { changed: done.changed, provider: done.state } };
  },
});

export const providerRoutes: Route[] = [list, action];
