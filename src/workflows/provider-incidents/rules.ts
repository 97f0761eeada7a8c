// When a provider is in incident, and when it is over: pure rules, applied by the evaluate activity to counts read
// from PostgreSQL. No I/O, no clock: `now` is given.

/** From PROVIDER_INCIDENT_* settings, in milliseconds and percent. */
export interface ProviderIncidentSettings {
  minAccounts: number;
  sharePercent: number;
  windowMs: number;
  maxHoldMs: number;
  checkIntervalMs: number;
}

export interface ProviderCounts {
  watched: number;
  broken: number;
  /** Accounts that opened an incident within the window and after the provider's last incident closed. */
  openedInWindow: number;
}

export interface OpenIncident {
  openedAt: number;
  openedBy: 'detector' | 'operator';
  /** Since when the broken share has been seen below half the threshold (null: it is not). */
  belowSince: number | null;
}

export type Verdict =
  | { action: 'none' }
  | { action: 'open'; reason: string }
  | { action: 'keep'; belowSince: number | null }
  | { action: 'close'; by: 'detector' | 'max_hold'; reason: string };

const fmtShare = (n: number, of: number) => `${n} of ${of} (${of === 0 ? 0 : Math.round((n * 1000) / of) / 10}%)`;

/** At least minAccounts accounts AND at least sharePercent of the watched ones opened an incident in the window. */
export function crossesThreshold(c: ProviderCounts, s: ProviderIncidentSettings): boolean {
  return c.watched > 0 && c.openedInWindow >= s.minAccounts && c.openedInWindow * 100 >= s.sharePercent * c.watched;
}

/** Fewer than half the threshold share of the watched accounts are broken (none watched: nothing is broken). */
export function belowCloseShare(c: ProviderCounts, s: ProviderIncidentSettings): boolean {
  return c.watched === 0 || c.broken * 100 < (s.sharePercent / 2) * c.watched;
}

/**
 * One provider, one check. Without an incident: open one when the threshold is crossed. With one: close it after
 * maxHold whatever opened it; a detector's incident also closes once the broken share has stayed below half the
 * threshold for a whole window. An operator's incident closes only by hand or after maxHold: the operator knows
 * something the counts do not.
 */
export function judgeProvider(
  counts: ProviderCounts,
  incident: OpenIncident | null,
  now: number,
  s: ProviderIncidentSettings,
): Verdict {
  if (!incident) {
    if (!crossesThreshold(counts, s)) return { action: 'none' };
    return {
      action: 'open',
      reason: `${fmtShare(counts.openedInWindow, counts.watched)} accounts opened an incident within ${minutes(s.windowMs)}`,
    };
  }
  if (now - incident.openedAt >= s.maxHoldMs) {
    return { action: 'close', by: 'max_hold', reason: `open for ${minutes(s.maxHoldMs)} (the longest hold)` };
  }
  if (incident.openedBy === 'operator') return { action: 'keep', belowSince: null };
  if (!belowCloseShare(counts, s)) return { action: 'keep', belowSince: null };
  const since = incident.belowSince ?? now;
  if (now - since >= s.windowMs) {
    return {
      action: 'close',
      by: 'detector',
      reason: `${fmtShare(counts.broken, counts.watched)} accounts broken, below ${s.sharePercent / 2}% for ${minutes(s.windowMs)}`,
    };
  }
  return { action: 'keep', belowSince: since };
}

export function minutes(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** The workflow's current details, in words, from the providers' states. */
export function describeProviders(
  providers: {
    provider: string;
    watched: number;
    broken: number;
    incident: { openedAt: string; openedBy: string; heldEmails: number } | null;
  }[],
  at: string,
): string {
  const open = providers.filter((p) => p.incident);
  const watched = providers.reduce((n, p) => n + p.watched, 0);
  if (open.length === 0) {
    return `No provider in incident (checked ${at}; ${providers.length} provider(s), ${watched} account(s) watched)`;
  }
  const lines = open.map(
    (p) =>
      `${p.provider} in incident since ${p.incident!.openedAt} (opened by ${p.incident!.openedBy}): ` +
      `${p.broken} broken of ${p.watched} watched; ${p.incident!.heldEmails} email(s) held`,
  );
  return `${open.length} provider(s) in incident (checked ${at}):\n${lines.join('\n')}`;
}
