/**
 * `explain(mode)` with Spark's mode names, and the physical plan as data for monitoring: each
 * operator with its output, arguments and the metrics of the last completed batch.
 */
import { AnalysisError } from '../common/errors.js';
import { typeToString } from '../common/schema.js';
import { explainPlan } from '../plan/explain.js';
import { LogicalPlan } from '../plan/logical.js';
import { OperatorMetrics, PhysicalOperator, StateOperatorProgress } from './physical.js';

/**
 * simple: the physical plan; extended: the logical and the physical plan; formatted: an outline of
 * the physical plan, then each operator's output, arguments and last-batch metrics; codegen: the
 * JavaScript generated for each operator that compiles its per-row work.
 */
export type ExplainMode = 'simple' | 'extended' | 'formatted' | 'codegen';

const MODES: readonly ExplainMode[] = ['simple', 'extended', 'formatted', 'codegen'];

/** One physical operator as monitoring reads it (a snapshot: later batches do not change it). */
export interface OperatorNode {
  /** Its number in the plan, children first (as Spark's formatted explain: 1 is the first leaf, the root is last). */
  readonly id: number;
  /** Its physical name, e.g. `HashAggregate`. */
  readonly name: string;
  /** Its arguments as explain shows them, e.g. `keys=[window, word], functions=[count]`. */
  readonly arguments: string;
  /** Its output columns as `name: type`. */
  readonly output: readonly string[];
  /** Rows in and out and own time of the last completed batch; null before one completed. */
  readonly metrics: OperatorMetrics | null;
  /** For an operator that keeps state: its state figures of that batch (Spark's stateOperators fields). */
  readonly state: StateOperatorProgress | null;
  readonly children: readonly OperatorNode[];
}

/** The operator tree of `root` with its current figures (`withMetrics` false: the plan alone). */
export function operatorTree(root: PhysicalOperator, withMetrics = true): OperatorNode {
  let next = 1;
  const visit = (op: PhysicalOperator): OperatorNode => {
    const children = op.children.map(visit);
    return {
      id: next++, name: op.name, arguments: op.describe(), output: op.schema.map((f) => `${f.name}: ${typeToString(f.type)}`),
      metrics: withMetrics ? op.metrics : null, state: withMetrics && op.metrics ? op.stateProgress() : null, children,
    };
  };
  return visit(root);
}

export function parseExplainMode(mode: ExplainMode | boolean | string): ExplainMode {
  if (mode === true) return 'extended';
  if (mode === false) return 'simple';
  const found = MODES.find((m) => m === String(mode).toLowerCase());
  if (!found) {
    throw new AnalysisError(`Unknown explain mode '${String(mode)}': use ${MODES.join(', ')} (or true for extended). ` +
      "weir keeps no cost statistics, so Spark's 'cost' mode has no counterpart.", 'INVALID_EXPLAIN_MODE');
  }
  return found;
}

/**
 * The plan as text in `mode`. `tree` is the physical plan's snapshot (metrics shown by formatted),
 * `root` the live operators (their generated code, for codegen).
 */
export function explainText(logical: LogicalPlan, root: PhysicalOperator, tree: OperatorNode, mode: ExplainMode): string {
  switch (mode) {
    case 'simple': return `== Physical Plan ==\n${drawTree(tree, lineOf)}`;
    case 'extended': return `== Analyzed Logical Plan ==\n${explainPlan(logical)}\n\n== Physical Plan ==\n${drawTree(tree, lineOf)}`;
    case 'formatted': return formatted(tree);
    case 'codegen': return codegen(root, tree);
  }
}

/**
 * A batch plan over an input whose schema is inferred when it is read cannot be planned yet (its
 * operators compile against the schema): the logical plan, and how to get the physical one.
 */
export function explainUnplanned(logical: LogicalPlan): string {
  return `== Logical Plan ==\n${explainPlan(logical)}\n\n== Physical Plan ==\nNot planned yet: the input's schema is ` +
    'inferred when it is read. Give the reader a schema (.schema(...)) to plan it now.';
}

function lineOf(node: OperatorNode): string {
  return node.arguments === '' ? node.name : `${node.name} ${node.arguments}`;
}

function drawTree(tree: OperatorNode, line: (node: OperatorNode) => string): string {
  const lines: string[] = [];
  const visit = (node: OperatorNode, depth: number): void => {
    lines.push(`${depth === 0 ? '' : `${'   '.repeat(depth - 1)}+- `}${line(node)}`);
    for (const child of node.children) visit(child, depth + 1);
  };
  visit(tree, 0);
  return lines.join('\n');
}

function postOrder(tree: OperatorNode): OperatorNode[] {
  return [...tree.children.flatMap(postOrder), tree];
}

function formatted(tree: OperatorNode): string {
  const sections = postOrder(tree).map((node) => {
    const lines = [`(${node.id}) ${node.name}`, `Output [${node.output.length}]: [${node.output.join(', ')}]`];
    if (node.arguments !== '') lines.push(`Arguments: ${node.arguments}`);
    const m = node.metrics;
    if (m) lines.push(`Metrics (batch ${m.batchId}): rows in ${m.rowsIn}, rows out ${m.rowsOut}, time ${m.timeMs.toFixed(3)} ms`);
    const s = node.state;
    if (s) {
      lines.push(`State (${s.operatorName}): rows total ${s.numRowsTotal}, updated ${s.numRowsUpdated}, removed ` +
        `${s.numRowsRemoved}, dropped by watermark ${s.numRowsDroppedByWatermark}, memory used ${s.memoryUsedBytes} bytes, ` +
        `on disk ${s.diskBytesUsed} bytes, commit time ${s.commitTimeMs} ms`);
    }
    return lines.join('\n');
  });
  return `== Physical Plan ==\n${drawTree(tree, (node) => `${node.name} (${node.id})`)}\n\n\n${sections.join('\n\n')}`;
}

function codegen(root: PhysicalOperator, tree: OperatorNode): string {
  const live: PhysicalOperator[] = [];
  const collect = (op: PhysicalOperator): void => {
    op.children.forEach(collect);
    live.push(op);
  };
  collect(root);
  const nodes = postOrder(tree);
  const compiled = live.flatMap((op, i) => {
    const code = op.generatedCode();
    return code === null ? [] : [{ node: nodes[i]!, code }];
  });
  const parts = compiled.map(({ node, code }, i) =>
    `== Subtree ${i + 1} / ${compiled.length}: (${node.id}) ${lineOf(node)} ==\nGenerated code:\n${code}`);
  return [`Found ${compiled.length} operator(s) with generated code.`, ...parts].join('\n\n');
}
