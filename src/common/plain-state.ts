/** While an account is on its way up, pages refresh themselves. */
export const SETTLING = new Set(['PENDING', 'CONNECTING']);

/** What a person reads for an account's state: plain words, never our codes. */
export function plainState(
  status: string,
  recovery: string,
  detail: { mismatch?: boolean } = {},
): { label: string; tone: 'ok' | 'wait' | 'act' | 'gone' } {
  if (status === 'DELETED') return { label: 'Removed', tone: 'gone' };
  if (status === 'OK') return { label: 'Connected', tone: 'ok' };
  if (SETTLING.has(status)) return { label: 'Connecting…', tone: 'wait' };
  if (recovery === 'PAUSED') return { label: 'Paused', tone: 'wait' };
  if (recovery === 'RESTRICTED')
    return { label: 'Restricted by the provider: verify your identity there', tone: 'act' };
  if (detail.mismatch) return { label: 'Signed in as another member: sign in with this account', tone: 'act' };
  if (recovery === 'RETRYING') return { label: 'Reconnecting automatically…', tone: 'wait' };
  if (recovery === 'CHECKPOINT') return { label: 'Waiting for a verification code', tone: 'act' };
  return { label: 'Needs you to reconnect', tone: 'act' };
}
