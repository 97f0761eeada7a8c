import { eventsFromJournal } from '../../src/backend-events/outbox';
import { keeperSignature } from '../../src/backend-events/sender';
import { createHmac } from 'node:crypto';

const account = { accountId: 'a1', userId: 'u1', provider: 'GOOGLE_OAUTH', status: 'OK', recovery: 'NONE' };
const entry = (seq: number, type: string, data: Record<string, unknown>) => ({
  seq,
  type,
  at: '2026-01-01T00:00:00.000Z',
  data,
});

describe('backend events from the journal', () => {
  test('a new account up is connected; later changes are status changes; a deletion is also deleted', () => {
    const types = eventsFromJournal(
      { ...account, status: 'DELETED' },
      [
        entry(1, 'status_changed', { from: 'PENDING', to: 'OK' }),
        entry(2, 'status_changed', { from: 'OK', to: 'CREDENTIALS' }),
        entry(3, 'status_changed', { from: 'CREDENTIALS', to: 'OK' }),
        entry(4, 'status_changed', { from: 'OK', to: 'DELETED' }),
      ],
      'NONE',
    ).map((e) => e.type);
    expect(types).toEqual([
      'account.connected',
      'account.status_changed',
      'account.status_changed',
      'account.status_changed',
      'account.status_changed',
      'account.deleted',
    ]);
  });

  test('emails only when sent; a recovery change once per batch, keyed by its last entry', () => {
    const events = eventsFromJournal(
      { ...account, recovery: 'WAITING_FOR_USER' },
      [
        entry(7, 'email', { kind: 'reconnect_needed', seq: 0, outcome: 'no_contact' }),
        entry(8, 'email', { kind: 'reminder', seq: 1, outcome: 'sent' }),
      ],
      'RETRYING',
    );
    expect(events.map((e) => [e.type, e.eventId])).toEqual([
      ['account.email_sent', 'a1.8.account.email_sent'],
      ['account.recovery_changed', 'a1.8.account.recovery_changed'],
    ]);
    expect(events[1]!.data).toMatchObject({ from: 'RETRYING', to: 'WAITING_FOR_USER', userId: 'u1' });
    // The same batch again (a retried activity) gives the same ids: the outbox keeps one of each.
    expect(
      eventsFromJournal(
        { ...account, recovery: 'WAITING_FOR_USER' },
        [entry(8, 'email', { outcome: 'sent' })],
        'RETRYING',
      ).map((e) => e.eventId),
    ).toEqual(['a1.8.account.email_sent', 'a1.8.account.recovery_changed']);
    expect(eventsFromJournal(account, [entry(9, 'attempt', {})], null)).toEqual([]);
  });

  test('Keeper-Signature is t=<seconds>,v1=<HMAC of "t.body">', () => {
    const header = keeperSignature('s3cret', '{"a":1}', 1_700_000_000_123);
    const v1 = createHmac('sha256', 's3cret').update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${v1}`);
  });
});
