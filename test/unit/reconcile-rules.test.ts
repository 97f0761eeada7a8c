import {
  confirmable,
  deletionLimit,
  describeHold,
  holdFor,
  type ListingFacts,
} from '../../src/workflows/reconcile/rules';

const facts = (f: Partial<ListingFacts>): ListingFacts => ({
  listed: 100,
  knownListed: 95,
  seenBefore: 100,
  missing: 5,
  maxDeletions: 10,
  ...f,
});

describe('reconciliation rules', () => {
  test('the deletion limit: RECONCILE_MAX_DELETIONS when set, else 10 or 1 % of the accounts', () => {
    expect(deletionLimit(undefined, 0)).toBe(10);
    expect(deletionLimit(undefined, 1_099)).toBe(10);
    expect(deletionLimit(undefined, 2_000)).toBe(20);
    expect(deletionLimit(undefined, 10_000)).toBe(100);
    expect(deletionLimit(3, 10_000)).toBe(3);
    expect(deletionLimit(0, 50)).toBe(0);
  });

  test('up to the limit missing: no hold (each is asked of Unipile); one more: held, none deleted', () => {
    expect(holdFor(facts({ missing: 10 }))).toBeNull();
    expect(holdFor(facts({ missing: 11 }))).toEqual({ reason: 'too_many', count: 11 });
    expect(holdFor(facts({ missing: 1, maxDeletions: 0 }))).toEqual({ reason: 'too_many', count: 1 });
  });

  test('a listing with none of the accounts seen before is held, however few are missing', () => {
    expect(holdFor(facts({ knownListed: 0, missing: 3, seenBefore: 3, listed: 2 }))).toEqual({
      reason: 'unknown_workspace',
      count: 3,
    });
    // An empty listing of a workspace we know: the same.
    expect(holdFor(facts({ knownListed: 0, listed: 0, missing: 2, seenBefore: 2 }))).toEqual({
      reason: 'unknown_workspace',
      count: 2,
    });
  });

  test('nothing seen before (a first run, a new deployment): the listing is taken as it is', () => {
    expect(holdFor(facts({ knownListed: 0, seenBefore: 0, missing: 0, listed: 40 }))).toBeNull();
  });

  test('the words in the Temporal UI say why, how many, and how to confirm', () => {
    const text = describeHold({ reason: 'too_many', count: 12, holdId: 7 }, 10);
    expect(text).toMatch(/^held: 12 account\(s\) missing, none deleted/);
    expect(text).toContain('RECONCILE_MAX_DELETIONS');
    expect(text).toContain('POST /api/reconcile/confirm (hold 7)');
    expect(describeHold({ reason: 'unknown_workspace', count: 3, holdId: 8 }, 10)).toContain('UNIPILE_API_KEY');
  });

  test("another workspace's listing cannot be confirmed (every GET answers 404 there): the words say to fix the key", () => {
    expect(confirmable('too_many')).toBe(true);
    expect(confirmable('unknown_workspace')).toBe(false);
    const text = describeHold({ reason: 'unknown_workspace', count: 3, holdId: 8 }, 10);
    expect(text).not.toContain('Confirm with');
    expect(text).toMatch(/cannot be confirmed/);
    expect(text).toMatch(/fix UNIPILE_API_KEY/);
  });
});
