// Every scenario, in the order a full run takes them (later ones use the accounts earlier ones leave).
import { backlog } from './backlog';
import { ceilings } from './ceilings';
import { cost } from './cost';
import { idle } from './idle';
import { ingestion } from './ingestion';
import { massDisconnectScenario } from './mass-disconnect';
import { providerIncident } from './provider-incident';
import { reads } from './reads';
import { scaling } from './scaling';
import type { Scenario } from './scenario';
import { stateMachine } from './state-machine';
import { webhooksAtRate } from './webhooks-at-rate';
import { workerStopped } from './worker-stopped';
import { workerSweep } from './worker-sweep';

export type { Scenario } from './scenario';

export const SCENARIOS: Scenario[] = [
  ceilings,
  ingestion,
  workerStopped,
  webhooksAtRate,
  backlog,
  reads,
  idle,
  massDisconnectScenario,
  cost,
  stateMachine,
  providerIncident,
  scaling,
  workerSweep,
];

/** The scenarios asked for and those they need, in the order of a full run; throws on an unknown name. */
export function selectScenarios(only: string[] | undefined): Scenario[] {
  if (!only) return SCENARIOS;
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  const chosen = new Set<string>();
  const add = (name: string): void => {
    const scenario = byName.get(name);
    if (!scenario) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    if (chosen.has(name)) return;
    chosen.add(name);
    scenario.needs.forEach(add);
  };
  only.forEach(add);
  return SCENARIOS.filter((s) => chosen.has(s.name));
}
