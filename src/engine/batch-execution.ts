import { MemoryStorage } from '../checkpoint/memory-storage.js';
import { Row, Schema } from '../common/schema.js';
import { planPhysical } from '../exec/planner.js';
import { explainPlan } from '../plan/explain.js';
import { isStreaming, LogicalPlan, planChildren } from '../plan/logical.js';
import { inMemoryStateProvider } from '../state/memory-provider.js';

/** Runs a batch plan: loads its relations, then executes it as one batch. */
export async function collectRows(plan: LogicalPlan): Promise<{ schema: Schema; rows: Row[] }> {
  const inputs: Row[][] = [];
  const resolved = await resolveRelations(plan, inputs);
  const physical = planPhysical(resolved);
  for (const op of physical.stateful) {
    await op.open({ storage: new MemoryStorage(), provider: inMemoryStateProvider, numPartitions: 1,
      version: -1, snapshotInterval: Number.MAX_SAFE_INTEGER });
  }
  const rows = physical.root.execute({
    batchId: 0, watermarkMs: 0, previousWatermarkMs: 0, batchTimestampMs: Date.now(), streaming: false, outputMode: 'complete', inputs,
    eventTimes: [],
  });
  return { schema: physical.schema, rows };
}

/** Reads the static side of every stream-static join, once, as its query starts (Spark reads it per batch). */
export async function loadStaticJoinSides(plan: LogicalPlan): Promise<LogicalPlan> {
  if (plan.kind !== 'join') {
    if (plan.kind === 'union') return { ...plan, left: await loadStaticJoinSides(plan.left), right: await loadStaticJoinSides(plan.right) };
    if (planChildren(plan).length === 0) return plan;
    return { ...plan, child: await loadStaticJoinSides((plan as { child: LogicalPlan }).child) } as LogicalPlan;
  }
  const load = async (side: LogicalPlan): Promise<LogicalPlan> => {
    if (isStreaming(side)) return loadStaticJoinSides(side);
    const { schema, rows } = await collectRows(side);
    return { kind: 'relation', input: { description: explainPlan(side).split('\n')[0]!, schema, load: async () => ({ schema, rows }), rows } };
  };
  if (!isStreaming(plan)) return plan;
  return { ...plan, left: await load(plan.left), right: await load(plan.right) };
}

/** Loads every batch relation (in leaf order) and returns the plan with their schemas known. */
async function resolveRelations(plan: LogicalPlan, rowsOut: Row[][]): Promise<LogicalPlan> {
  if (plan.kind === 'relation') {
    const { schema, rows } = await plan.input.load();
    rowsOut.push(rows);
    return { kind: 'relation', input: { description: plan.input.description, schema, load: async () => ({ schema, rows }) } };
  }
  if (plan.kind === 'stream') return plan;
  if (plan.kind === 'union' || plan.kind === 'join') {
    const left = await resolveRelations(plan.left, rowsOut);
    return { ...plan, left, right: await resolveRelations(plan.right, rowsOut) };
  }
  if (planChildren(plan).length === 0) return plan;
  return { ...plan, child: await resolveRelations((plan as { child: LogicalPlan }).child, rowsOut) } as LogicalPlan;
}
