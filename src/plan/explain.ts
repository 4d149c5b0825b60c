import { schemaOf, nameOf } from './analyzer.js';
import { LogicalPlan, planChildren } from './logical.js';

/** A readable tree of the plan, one node per line, as `explain()` shows it. */
export function explainPlan(plan: LogicalPlan): string {
  const lines: string[] = [];
  const visit = (node: LogicalPlan, depth: number): void => {
    lines.push(`${depth === 0 ? '' : `${'   '.repeat(depth - 1)}+- `}${describeNode(node)}`);
    for (const child of planChildren(node)) visit(child, depth + 1);
  };
  visit(plan, 0);
  return lines.join('\n');
}

function describeNode(node: LogicalPlan): string {
  switch (node.kind) {
    case 'stream': return `StreamingRelation ${node.input.description} [${columns(node)}]`;
    case 'relation': return `Relation ${node.input.description}`;
    case 'project': return `Project [${schemaOf(node).map((f) => f.name).join(', ')}]`;
    case 'filter': return `Filter ${nameOf(node.condition)}`;
    case 'mapRows': return `MapRows [${columns(node)}]`;
    case 'flatMapRows': return `FlatMapRows [${columns(node)}]`;
    case 'filterRows': return 'FilterRows <function>';
    case 'union': return 'Union';
    case 'join': return `Join ${node.joinType}, ${'using' in node.on ? `using [${node.on.using.join(', ')}]` : nameOf(node.on.condition)}`;
    case 'watermark': return `EventTimeWatermark ${node.column}, ${node.delayMs} ms`;
    case 'aggregate':
      return `Aggregate [${node.groups.map(nameOf).join(', ')}], [${node.aggs.map(nameOf).join(', ')}]`;
    case 'dedup':
      return `${node.withinWatermark ? 'DeduplicateWithinWatermark' : 'Deduplicate'} [${(node.keys ?? ['*']).join(', ')}]`;
    case 'sort': return `Sort [${node.orders.map(nameOf).join(', ')}]`;
    case 'limit': return `Limit ${node.n}`;
  }
}

function columns(node: LogicalPlan): string {
  return schemaOf(node).map((f) => f.name).join(', ');
}
