// The LinkedIn cookie-connection workflow's contract, shared by the workflow, the API and the tests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface LinkedinConnectInput {
  sessionId: string;
  userId: string;
  checkpointTimeoutMs: number;
}

/** Where a cookie connection stands; what the checkpoint endpoint and the connect query answer. */
export type ConnectState =
  | { phase: 'connecting' }
  | { phase: 'checkpoint'; accountId: string; checkpointType: string }
  | { phase: 'connected'; accountId: string }
  | { phase: 'failed'; errorType: string }
  | { phase: 'timed_out' };

export type CheckpointAnswer =
  | { outcome: 'connected'; accountId: string }
  | { outcome: 'checkpoint'; accountId: string; checkpointType: string }
  | { outcome: 'wrong_code'; accountId: string }
  | { outcome: 'failed'; errorType: string };

export const solveCheckpointUpdate = defineUpdate<CheckpointAnswer, [string]>('solveCheckpoint');
export const getConnectStateQuery = defineQuery<ConnectState>('getConnectState');
/**
 * One connection workflow per (user, LinkedIn member): ids operators can search and that never collide — the user
 * id is length-prefixed, so `a-b`/`c` and `a`/`b-c` differ — and stay under 255 characters (user ≤ 128, member ≤ 100).
 */
export const linkedinConnectWorkflowId = (userId: string, memberId: string): string =>
  `linkedin-connect-${userId.length}:${userId}-${memberId}`;

/** Workflow type name: clients start workflows by name, so they never import workflow code. */
export const LINKEDIN_CONNECT_WORKFLOW_TYPE = 'linkedinConnectWorkflow';
export type LinkedinConnectWorkflowFn = (input: LinkedinConnectInput) => Promise<ConnectState>;
