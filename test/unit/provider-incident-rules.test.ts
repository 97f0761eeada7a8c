import fc from 'fast-check';
import { loadConfigPart } from '../../src/platform/config';
import { PROVIDER_INCIDENT_KEYS, providerIncidentSettings } from '../../src/providers/workflow';
import {
  belowCloseShare,
  crossesThreshold,
  describeProviders,
  judgeProvider,
  type OpenIncident,
  type ProviderCounts,
} from '../../src/workflows/provider-incidents/rules';

// The real defaults, read through the configuration: 20 accounts, 20 %, a 10-minute window, a 6-hour hold.
const s = providerIncidentSettings(loadConfigPart([...PROVIDER_INCIDENT_KEYS], {}));
const MIN = 60_000;
const t0 = Date.parse('2026-12-02T10:00:00Z');
const counts = (c: Partial<ProviderCounts>): ProviderCounts => ({ watched: 100, broken: 0, openedInWindow: 0, ...c });
const detector = (c: Partial<OpenIncident> = {}): OpenIncident => ({
  openedAt: t0,
  openedBy: 'detector',
  belowSince: null,
  ...c,
});

describe('provider incident rules, at the default settings', () => {
  test('the defaults are the documented ones', () => {
    expect(s).toEqual({
      minAccounts: 20,
      sharePercent: 20,
      windowMs: 10 * MIN,
      maxHoldMs: 360 * MIN,
      checkIntervalMs: 15_000,
    });
  });

  test('opens at 20 accounts AND 20 % of the watched ones, not one short of either', () => {
    expect(judgeProvider(counts({ openedInWindow: 20 }), null, t0, s).action).toBe('open');
    expect(judgeProvider(counts({ openedInWindow: 19 }), null, t0, s).action).toBe('none');
    // 20 accounts but only 2 % of 1,000: a provider that large is not in incident for 20 failures.
    expect(judgeProvider(counts({ watched: 1_000, openedInWindow: 20 }), null, t0, s).action).toBe('none');
    expect(judgeProvider(counts({ watched: 1_000, openedInWindow: 199 }), null, t0, s).action).toBe('none');
    expect(judgeProvider(counts({ watched: 1_000, openedInWindow: 200 }), null, t0, s).action).toBe('open');
    // 100 % of 19 accounts: below the absolute minimum.
    expect(judgeProvider(counts({ watched: 19, openedInWindow: 19 }), null, t0, s).action).toBe('none');
    expect(judgeProvider(counts({ watched: 0 }), null, t0, s).action).toBe('none');
  });

  test('the opening reason says how many of how many, and over which window', () => {
    const v = judgeProvider(counts({ watched: 50, openedInWindow: 25 }), null, t0, s);
    expect(v).toEqual({ action: 'open', reason: '25 of 50 (50%) accounts opened an incident within 10m' });
  });

  test('a detector incident closes once fewer than 10 % are broken for a whole window, not before', () => {
    const low = counts({ broken: 9 });
    const first = judgeProvider(low, detector(), t0 + MIN, s);
    expect(first).toEqual({ action: 'keep', belowSince: t0 + MIN });
    expect(judgeProvider(low, detector({ belowSince: t0 + MIN }), t0 + 11 * MIN - 1, s).action).toBe('keep');
    const closed = judgeProvider(low, detector({ belowSince: t0 + MIN }), t0 + 11 * MIN, s);
    expect(closed).toMatchObject({ action: 'close', by: 'detector' });
    // Exactly 10 % broken is not below half the threshold share.
    expect(judgeProvider(counts({ broken: 10 }), detector({ belowSince: t0 }), t0 + 30 * MIN, s)).toEqual({
      action: 'keep',
      belowSince: null,
    });
  });

  test('a rise above half the share restarts the close window', () => {
    expect(judgeProvider(counts({ broken: 15 }), detector({ belowSince: t0 }), t0 + 5 * MIN, s)).toEqual({
      action: 'keep',
      belowSince: null,
    });
  });

  test('an operator incident closes only after the longest hold; any incident closes then', () => {
    const op = detector({ openedBy: 'operator', belowSince: t0 });
    expect(judgeProvider(counts({ broken: 0 }), op, t0 + 359 * MIN, s)).toEqual({ action: 'keep', belowSince: null });
    expect(judgeProvider(counts({ broken: 0 }), op, t0 + 360 * MIN, s)).toMatchObject({
      action: 'close',
      by: 'max_hold',
    });
    expect(judgeProvider(counts({ broken: 100 }), detector(), t0 + 360 * MIN, s)).toMatchObject({
      action: 'close',
      by: 'max_hold',
    });
  });

  test('details name the providers in incident, broken of watched, since when', () => {
    const text = describeProviders(
      [
        {
          provider: 'LINKEDIN',
          watched: 40,
          broken: 30,
          incident: { openedAt: '2026-12-02T10:00:00.000Z', openedBy: 'detector', heldEmails: 3 },
        },
        { provider: 'WHATSAPP', watched: 5, broken: 0, incident: null },
      ],
      '2026-12-02T10:05:00.000Z',
    );
    expect(text).toContain('LINKEDIN in incident since 2026-12-02T10:00:00.000Z');
    expect(text).toContain('30 broken of 40 watched');
    expect(text).not.toContain('WHATSAPP');
    expect(describeProviders([], 'x')).toMatch(/^No provider in incident/);
  });
});

describe('provider incident rules, properties', () => {
  const arbCounts = fc
    .record({
      watched: fc.integer({ min: 0, max: 20_000 }),
      a: fc.double({ min: 0, max: 1, noNaN: true }),
      b: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ watched, a, b }) => ({
      watched,
      openedInWindow: Math.floor(watched * a),
      broken: Math.floor(watched * b),
    }));
  const arbSettings = fc.record({
    minAccounts: fc.integer({ min: 1, max: 200 }),
    sharePercent: fc.integer({ min: 1, max: 100 }),
    windowMs: fc.integer({ min: 1_000, max: 3_600_000 }),
    maxHoldMs: fc.integer({ min: 60_000, max: 86_400_000 }),
    checkIntervalMs: fc.constant(15_000),
  });

  test('without an incident it opens exactly when both thresholds are met', () => {
    fc.assert(
      fc.property(arbCounts, arbSettings, (c, st) => {
        const v = judgeProvider(c, null, t0, st);
        const expected = c.openedInWindow >= st.minAccounts && c.openedInWindow / c.watched >= st.sharePercent / 100;
        expect(v.action).toBe(expected ? 'open' : 'none');
      }),
    );
  });

  test('an open incident never closes while half the share or more is broken, before the longest hold', () => {
    fc.assert(
      fc.property(arbCounts, arbSettings, fc.nat(), fc.boolean(), (c, st, age, byOperator) => {
        fc.pre(c.watched > 0 && !belowCloseShare(c, st));
        const now = t0 + (age % st.maxHoldMs);
        const v = judgeProvider(
          c,
          detector({ openedBy: byOperator ? 'operator' : 'detector', belowSince: t0 }),
          now,
          st,
        );
        expect(v.action).toBe('keep');
      }),
    );
  });

  test('whatever the counts, an incident older than the longest hold closes', () => {
    fc.assert(
      fc.property(arbCounts, arbSettings, fc.nat({ max: 10 ** 9 }), (c, st, extra) => {
        const v = judgeProvider(c, detector(), t0 + st.maxHoldMs + extra, st);
        expect(v).toMatchObject({ action: 'close', by: 'max_hold' });
      }),
    );
  });

  test('opening needs more than closing allows: a provider that would open never counts as below the close share', () => {
    fc.assert(
      fc.property(arbCounts, arbSettings, (c, st) => {
        // Accounts that opened an incident in the window and are still broken.
        const stillBroken = { ...c, broken: Math.max(c.broken, c.openedInWindow) };
        if (crossesThreshold(stillBroken, st)) expect(belowCloseShare(stillBroken, st)).toBe(false);
      }),
    );
  });
});
