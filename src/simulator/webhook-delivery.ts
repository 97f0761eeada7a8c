// How the simulator sends what Unipile sends: account_status webhooks (retried 5 times, anything but 200 a failure)
// and the hosted-auth notify_url callback (once, without the webhooks' custom headers).
import { nowIso, sleep, type Delivery, type HostedLink, type SimWebhook } from './sim-state';

export async function deliverWebhook(
  hook: SimWebhook,
  body: unknown,
  delivery: Delivery,
  retryDelayMs: number,
  stopping: () => boolean,
): Promise<void> {
  const headers = Object.fromEntries(hook.headers.map((h) => [h.key, h.value]));
  // The first try and five retries with increasing delay; anything but 200 counts as a failure.
  for (let attempt = 0; attempt <= 5 && !stopping(); attempt++) {
    if (attempt > 0) await sleep(retryDelayMs * attempt);
    let status: number | null = null;
    try {
      const res = await fetch(hook.request_url, {
        method: 'POST',
        headers,
        body: hook.format === 'form' ? new URLSearchParams({ data: JSON.stringify(body) }) : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = null;
    }
    delivery.attempts.push({ status, at: nowIso() });
    if (status === 200) {
      delivery.delivered = true;
      return;
    }
  }
}

export async function notifyHostedAuth(link: HostedLink, status: string, accountId: string): Promise<void> {
  if (!link.notify_url) return;
  try {
    const res = await fetch(link.notify_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ status, account_id: accountId, name: link.name }),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
  } catch {
    // Unipile documents no retry for notify_url.
  }
}
