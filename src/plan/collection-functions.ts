import { JsonRowReader } from '../codec/json-rows.js';
import { valueJson } from '../codec/json-values.js';
import { parseSchemaDDL } from '../common/ddl.js';
import { AnalysisError } from '../common/errors.js';
import { ArrayType, DataType, Field, isNumeric, MapType, typeToString, Value } from '../common/schema.js';
import { Expr, stripAlias } from './expressions.js';
import type { ScalarFunction } from './scalar-functions.js';

/**
 * Spark's functions over nested values (structs, arrays, maps), with Spark's non-ANSI null rules:
 * `size(null)` is -1, `element_at` past the end is null, `array_contains` is null when the array holds
 * null and not the value. Arrays are JavaScript arrays, maps and structs plain objects read through
 * own properties only. Their runtime helpers join the compiled code's `rt` object (exec/runtime.ts).
 */

function typeError(fn: string, what: string, got: DataType): AnalysisError {
  return new AnalysisError(`${fn} needs ${what}, got ${typeToString(got)}.`, 'TYPE_MISMATCH');
}

function isCollection(t: DataType): t is ArrayType | MapType {
  return typeof t !== 'string' && (t.kind === 'array' || t.kind === 'map');
}

function mapType(fn: string, t: DataType | undefined): MapType {
  if (t === undefined || typeof t === 'string' || t.kind !== 'map') throw typeError(fn, 'a map', t ?? 'string');
  return t;
}

/** The type holding all of `types` (numbers widen, anything else must agree), as Spark's array() finds it. */
function commonType(fn: string, types: readonly DataType[]): DataType {
  const [first, ...rest] = types;
  if (first === undefined) return 'string';
  return rest.reduce((a, b) => {
    if (typeToString(a) === typeToString(b)) return a;
    if (isNumeric(a) && isNumeric(b)) return a === 'double' || b === 'double' ? 'double' : a === 'long' || b === 'long' ? 'long' : 'integer';
    throw new AnalysisError(`${fn} needs arguments of one type, got ${typeToString(a)} and ${typeToString(b)}: ` +
      `cast them first, e.g. .cast('string').`, 'TYPE_MISMATCH');
  }, first);
}

const fromJsonReaders = new Map<string, JsonRowReader>();

/** Helpers the compiled code calls as `rt.<name>`. */
export const COLLECTION_RUNTIME = {
  sizeOf(v: Value): number {
    return Array.isArray(v) ? v.length : Object.keys(v as object).length;
  },
  elementAt(collection: Value, key: Value): Value {
    if (collection === null || key === null) return null;
    if (!Array.isArray(collection)) {
      return Object.hasOwn(collection as object, String(key)) ? (collection as Record<string, Value>)[String(key)]! : null;
    }
    const index = key as number;
    const item = index > 0 ? collection[index - 1] : index < 0 ? collection[collection.length + index] : undefined;
    return item ?? null;
  },
  arrayContains(array: readonly Value[], v: Value): boolean | null {
    if (array === null || v === null) return null;
    if (array.includes(v)) return true;
    return array.includes(null) ? null : false;
  },
  toJson(v: Value, type: DataType): string {
    return valueJson(v, type);
  },
  fromJson(text: string, ddl: string): Value {
    let reader = fromJsonReaders.get(ddl);
    if (!reader) {
      reader = new JsonRowReader(parseSchemaDDL(ddl).map((f) => ({ ...f, nullable: true })));
      fromJsonReaders.set(ddl, reader);
    }
    return reader.readText(text);
  },
};

export const COLLECTION_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  // Spark's default (spark.sql.legacy.sizeOfNull): the size of null is -1.
  size: {
    sqlName: 'size', minArgs: 1, maxArgs: 1, handlesNull: true,
    resultType: ([t]) => {
      if (!isCollection(t!)) throw typeError('size', 'an array or a map', t!);
      return 'integer';
    },
    emit: ([a]) => `(${a} === null ? -1 : rt.sizeOf(${a}))`,
  },
  element_at: {
    sqlName: 'element_at', minArgs: 2, maxArgs: 2, handlesNull: true,
    resultType: ([c, k]) => {
      if (!isCollection(c!)) throw typeError('element_at', 'an array or a map', c!);
      if (c.kind === 'map') return c.value;
      if (k !== 'integer' && k !== 'long') throw typeError('element_at', 'a whole-number index into an array', k!);
      return c.element;
    },
    checkLiterals: ([, index]) => {
      if (index === 0) throw new AnalysisError('element_at: array indices start at 1 (negative ones count from the end), got 0.', 'INVALID_ARGUMENT');
    },
    emit: ([c, k]) => `rt.elementAt(${c}, ${k})`,
  },
  array: {
    sqlName: 'array', minArgs: 0, maxArgs: 64, handlesNull: true,
    resultType: (types, literals) => ({ kind: 'array', element: commonType('array', types.filter((_, i) => literals[i] !== null)) }),
    emit: (args) => `[${args.join(', ')}]`,
  },
  named_struct: {
    sqlName: 'named_struct', minArgs: 2, maxArgs: 128, handlesNull: true,
    checkLiterals: (literals) => {
      if (literals.length % 2 !== 0) throw new AnalysisError('named_struct takes pairs of (name, value).', 'WRONG_ARGUMENTS');
      literals.forEach((name, i) => {
        if (i % 2 === 0 && typeof name !== 'string') {
          throw new AnalysisError(`named_struct: argument ${i + 1} must be a field name given as a string literal.`, 'WRONG_ARGUMENTS');
        }
      });
      const names = literals.filter((_, i) => i % 2 === 0);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) throw new AnalysisError(`named_struct names field '${String(twice)}' twice.`, 'WRONG_ARGUMENTS');
    },
    resultType: (types, literals) => {
      const fields: Field[] = [];
      for (let i = 0; i + 1 < types.length; i += 2) fields.push({ name: String(literals[i]), type: types[i + 1]!, nullable: true });
      return { kind: 'struct', fields };
    },
    // Computed keys make own properties, also for a field named __proto__.
    emit: (args) => `({ ${args.flatMap((a, i) => (i % 2 === 0 ? [`[${a}]: ${args[i + 1]}`] : [])).join(', ')} })`,
  },
  array_contains: {
    sqlName: 'array_contains', minArgs: 2, maxArgs: 2, handlesNull: true,
    resultType: ([a, v]) => {
      if (a === undefined || typeof a === 'string' || a.kind !== 'array') throw typeError('array_contains', 'an array', a ?? 'string');
      commonType('array_contains', [a.element, v!]);
      return 'boolean';
    },
    emit: ([a, v]) => `rt.arrayContains(${a}, ${v})`,
  },
  map_keys: {
    sqlName: 'map_keys', minArgs: 1, maxArgs: 1,
    resultType: ([m]) => ({ kind: 'array', element: mapType('map_keys', m).key }),
    emit: ([m]) => `Object.keys(${m})`,
  },
  map_values: {
    sqlName: 'map_values', minArgs: 1, maxArgs: 1,
    resultType: ([m]) => ({ kind: 'array', element: mapType('map_values', m).value }),
    emit: ([m]) => `Object.values(${m})`,
  },
  to_json: {
    sqlName: 'to_json', minArgs: 1, maxArgs: 1,
    resultType: ([t]) => {
      if (typeof t === 'string') throw typeError('to_json', 'a struct, an array or a map', t!);
      return 'string';
    },
    emit: ([v], [t]) => `rt.toJson(${v}, ${JSON.stringify(t)})`,
  },
  from_json: {
    sqlName: 'from_json', minArgs: 2, maxArgs: 2,
    checkLiterals: ([, ddl]) => {
      if (typeof ddl !== 'string') {
        throw new AnalysisError("from_json needs its schema as DDL text, e.g. from_json(col('value'), 'a INT, b STRING').", 'WRONG_ARGUMENTS');
      }
      parseSchemaDDL(ddl);
    },
    resultType: ([text], literals) => {
      if (text !== 'string') throw typeError('from_json', "JSON text (cast bytes first: col('value').cast('string'))", text!);
      return { kind: 'struct', fields: parseSchemaDDL(String(literals[1])).map((f) => ({ ...f, nullable: true })) };
    },
    emit: ([text, ddl]) => `rt.fromJson(${text}, ${ddl})`,
  },
};

/**
 * Spark's `struct(a, b, …)`: a struct whose fields take the columns' names (`col3` for the third
 * when it is neither a column nor aliased), built as named_struct.
 */
export function structOf(values: readonly Expr[]): Expr {
  const args = values.flatMap((v, i): Expr[] => {
    const bare = stripAlias(v);
    const name = v.kind === 'alias' ? v.name : bare.kind === 'column' ? bare.path[bare.path.length - 1]! : `col${i + 1}`;
    return [{ kind: 'literal', value: name }, v];
  });
  return { kind: 'call', fn: 'named_struct', args };
}
