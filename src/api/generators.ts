import { AnalysisError } from '../common/errors.js';
import { DataType, Field, Row, Schema, typeToString, Value } from '../common/schema.js';
import { ownValue, setField } from '../codec/fields.js';
import { schemaOf } from '../plan/analyzer.js';
import { Expr, stripAlias } from '../plan/expressions.js';
import { LogicalPlan } from '../plan/logical.js';

/**
 * Spark's generators in `select`: `explode`, `explode_outer`, `posexplode`, `posexplode_outer` turn
 * one row into a row per element of an array (column `col`, or the alias) or per entry of a map
 * (columns `key`, `value`); the `pos` variants add the 0-based position first. A null or empty input
 * gives no row, or with `_outer` one row of nulls. The select becomes a projection (the generator's
 * input in a hidden column) followed by a flat-map over it, both operators weir already has.
 */
const GENERATORS: Readonly<Record<string, { readonly outer: boolean; readonly position: boolean }>> = {
  explode: { outer: false, position: false },
  explode_outer: { outer: true, position: false },
  posexplode: { outer: false, position: true },
  posexplode_outer: { outer: true, position: true },
};

/** Whether `name` is a generator function (SQL resolves these as calls the select turns into rows). */
export function isGeneratorName(name: string): boolean {
  return Object.hasOwn(GENERATORS, name);
}

export function generatorNames(): string[] {
  return Object.keys(GENERATORS);
}

export function isGenerator(expr: Expr): boolean {
  const e = stripAlias(expr);
  return e.kind === 'call' && Object.hasOwn(GENERATORS, e.fn);
}

function generatedFields(fn: string, input: DataType, alias: string | null): Field[] {
  const position: Field[] = GENERATORS[fn]!.position ? [{ name: 'pos', type: 'integer', nullable: true }] : [];
  if (typeof input !== 'string' && input.kind === 'array') {
    return [...position, { name: alias ?? 'col', type: input.element, nullable: true }];
  }
  if (typeof input !== 'string' && input.kind === 'map') {
    if (alias !== null) {
      throw new AnalysisError(`${fn} of a map gives two columns, key and value: drop the alias '${alias}' and rename ` +
        "them afterwards with withColumnRenamed.", 'WRONG_ARGUMENTS');
    }
    return [...position, { name: 'key', type: input.key, nullable: true }, { name: 'value', type: input.value, nullable: true }];
  }
  throw new AnalysisError(`${fn} needs an array or a map, got ${typeToString(input)}.`, 'TYPE_MISMATCH');
}

/** `select(exprs)` over `child` as a plan, when one of `exprs` is a generator; null when none is. */
export function generatorPlan(child: LogicalPlan, exprs: readonly Expr[]): LogicalPlan | null {
  const at = exprs.findIndex(isGenerator);
  if (at < 0) return null;
  if (exprs.some((e, i) => i !== at && isGenerator(e))) {
    throw new AnalysisError('Only one generator (explode, posexplode, …) is allowed per select, as in Spark: ' +
      'explode in two selects one after the other.', 'UNSUPPORTED_EXPRESSION');
  }
  const generator = exprs[at]!;
  const call = stripAlias(generator) as Extract<Expr, { kind: 'call' }>;
  if (call.args.length !== 1) throw new AnalysisError(`${call.fn} takes 1 argument, got ${call.args.length}.`, 'WRONG_ARGUMENTS');
  const inner = schemaOf({ kind: 'project', child, exprs: exprs.filter((_, i) => i !== at) });
  let hidden = '__generator_input';
  while (inner.some((f) => f.name === hidden)) hidden = `_${hidden}`;
  const innerExprs = exprs.map((e, i): Expr => (i === at ? { kind: 'alias', child: call.args[0]!, name: hidden } : e));
  const project: LogicalPlan = { kind: 'project', child, exprs: innerExprs };
  const projected = schemaOf(project);
  const generated = generatedFields(call.fn, projected[at]!.type, generator.kind === 'alias' ? generator.name : null);
  const schema: Schema = projected.flatMap((f, i) => (i === at ? generated : [f]));
  return { kind: 'flatMapRows', child: project, fn: explodeRows(projected, at, generated, GENERATORS[call.fn]!.outer), schema };
}

function explodeRows(projected: Schema, at: number, generated: readonly Field[], outer: boolean): (row: Row) => Row[] {
  const hidden = projected[at]!.name;
  const before = projected.slice(0, at).map((f) => f.name);
  const after = projected.slice(at + 1).map((f) => f.name);
  const names = generated.map((f) => f.name);
  const make = (row: Row, values: readonly Value[]): Row => {
    const out: Row = {};
    for (const name of before) setField(out, name, ownValue(row, name) ?? null);
    names.forEach((name, i) => setField(out, name, values[i] ?? null));
    for (const name of after) setField(out, name, ownValue(row, name) ?? null);
    return out;
  };
  const withPosition = names[0] === 'pos';
  return (row) => {
    const input = ownValue(row, hidden) ?? null;
    const entries: Value[][] = input === null ? []
      : Array.isArray(input) ? input.map((v: Value) => [v])
        : Object.keys(input as object).map((k) => [k, (input as Record<string, Value>)[k]!]);
    if (entries.length === 0) return outer ? [make(row, [])] : [];
    return entries.map((values, i) => make(row, withPosition ? [i, ...values] : values));
  };
}
