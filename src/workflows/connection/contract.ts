// The custom-authentication connection workflow's contract, shared by the workflow, the API and the tests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/**
 * A connection's current step, as clients read it. Never a secret: a QR code's payload is added by the API from its
 * encrypted copy, so it is in no workflow history. `connecting` only lasts until Unipile's first answer.
 */
export type ConnectionStep =
  | { type: 'connecting' }
  | { type: 'connected'; accountId: string }
  | {
      type: 'checkpoint';
      checkpoint: string;
      source?: string;
      options?: { id: string; name: string }[];
      expiresAt: string;
    }
  | { type: 'qrcode'; expiresAt: string }
  | { type: 'failed'; error: string };

/** What the user answers; the value itself (code, phone, contract id) travels through the database, encrypted. */
export type StepAnswerKind = 'code' | 'phone' | 'contract' | 'try_another_way' | 'resend';
export const STEP_ANSWER_KINDS: readonly StepAnswerKind[] = ['code', 'phone', 'contract', 'try_another_way', 'resend'];

/** What Unipile's answer to a connection call means for the connection (ids and types only). */
export type ConnectionAttempt =
  | { kind: 'connected'; accountId: string }
  | {
      kind: 'checkpoint';
      accountId: string;
      checkpoint: string;
      source?: string;
      options?: { id: string; name: string }[];
    }
  | { kind: 'qrcode'; accountId: string }
  | { kind: 'wrong_code' }
  | { kind: 'unchanged' }
  | { kind: 'failed'; error: string };

export interface ConnectionInput {
  connectionId: string;
  /** CHECKPOINT_TIMEOUT: how long each step waits for the user. */
  checkpointTimeoutMs: number;
  /** CONNECTION_POLL_INTERVAL: how often a QR code or an in-app validation is checked at Unipile. */
  pollIntervalMs: number;
}

export interface ConnectionView {
  version: number;
  step: ConnectionStep;
}

export const getConnectionStepQuery = defineQuery<ConnectionView>('getConnectionStep');
/** Waits until the step has moved past `version` (the API's way to answer the first step synchronously). */
export const awaitConnectionStepUpdate = defineUpdate<ConnectionView, [number]>('awaitConnectionStep');
export const answerConnectionStepUpdate = defineUpdate<
  { outcome: 'next' | 'wrong_code'; step: ConnectionStep },
  [StepAnswerKind]
>('answerConnectionStep');

export const connectionWorkflowId = (connectionId: string): string => `connection-${connectionId}`;
export const CONNECTION_WORKFLOW_TYPE = 'connectionWorkflow';
export type ConnectionWorkflowFn = (input: ConnectionInput) => Promise<ConnectionStep>;
