import { execFileSync } from 'node:child_process';
import { temporalCliPath } from './temporal-dev-server';

/**
 * A workflow's whole history as text, with every payload decoded (inputs, signals, results, failures, memo and
 * summaries are base64 in `temporal workflow show --output json`), so tests can search it for secrets.
 */
export function historyText(address: string, workflowId: string, runId?: string): string {
  const json = execFileSync(
    temporalCliPath(),
    [
      'workflow',
      'show',
      '--address',
      address,
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const decoded: string[] = [json];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'data' && typeof v === 'string') decoded.push(Buffer.from(v, 'base64').toString('utf8'));
        else walk(v);
      }
    }
  };
  walk(JSON.parse(json));
  return decoded.join('\n');
}
