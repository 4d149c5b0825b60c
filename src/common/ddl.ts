import { DecimalType, decimalType, DEFAULT_DECIMAL } from './decimal-type.js';
import { AnalysisError } from './errors.js';
import type { AtomicType, DataType, Field, Schema } from './schema.js';

/**
 * Spark's type DDL: `a INT, b STRUCT<x: INT, y STRING>, c ARRAY<STRING>, d MAP<STRING, DOUBLE>`.
 * Nested types hold commas, so the text is read by a small recursive-descent parser over tokens rather
 * than split on commas. Struct fields take `name: TYPE` or `name TYPE`; any field may say `NOT NULL`
 * and carry a `COMMENT '...'` (kept by Spark for catalogs, ignored here).
 */

const ATOMIC_NAMES: Readonly<Record<string, AtomicType>> = {
  string: 'string', varchar: 'string', char: 'string', text: 'string',
  int: 'integer', integer: 'integer', smallint: 'integer', tinyint: 'integer', short: 'integer', byte: 'integer',
  long: 'long', bigint: 'long',
  double: 'double', float: 'double', real: 'double',
  boolean: 'boolean', bool: 'boolean',
  timestamp: 'timestamp', timestamp_ltz: 'timestamp', date: 'date', binary: 'binary',
};

/** Spark's names of DECIMAL; NUMBER too, as other databases write it. */
const DECIMAL_NAMES = new Set(['decimal', 'dec', 'numeric', 'number']);

export const ATOMIC_TYPE_LIST = 'string, int, long, double, decimal(p,s), boolean, timestamp, date, binary';

/**
 * An atomic type by its DDL name (`INT`, `bigint`, `DECIMAL(10,2)`), or undefined. `DECIMAL` alone is
 * DECIMAL(10,0) and `DECIMAL(p)` is DECIMAL(p,0), as in Spark; parameters out of range are refused.
 */
export function atomicTypeNamed(name: string, context: string): AtomicType | undefined {
  const m = /^\s*([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*$/.exec(name);
  if (!m) return undefined;
  const key = m[1]!.toLowerCase();
  if (DECIMAL_NAMES.has(key)) return decimalNamed(m[2], context);
  return Object.hasOwn(ATOMIC_NAMES, key) ? ATOMIC_NAMES[key] : undefined;
}

/** DECIMAL with its parameter text (`10, 2`, `10`, or none). */
function decimalNamed(params: string | undefined, context: string): DecimalType | undefined {
  if (params === undefined) return DEFAULT_DECIMAL;
  const parts = params.split(',').map((p) => p.trim());
  if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new AnalysisError(`DECIMAL(${params}) in ${context}: write DECIMAL(precision, scale) with whole numbers, ` +
      'e.g. DECIMAL(10,2).', 'INVALID_DECIMAL_TYPE');
  }
  return decimalType(Number(parts[0]), Number(parts[1] ?? 0), context);
}

type Token = { readonly text: string; readonly at: number };

const TOKEN = /\s*(`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[A-Za-z_][\w]*|\d+|[<>(),:]|\S)/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const start = TOKEN.lastIndex;
    if (/^\s*$/.test(text.slice(start))) return tokens;
    const m = TOKEN.exec(text);
    if (!m) return tokens;
    tokens.push({ text: m[1]!, at: start + m[0].length - m[1]!.length });
  }
}

class DdlParser {
  private i = 0;
  private readonly tokens: Token[];

  constructor(private readonly text: string, private readonly what: string, private readonly example: string) {
    this.tokens = tokenize(text);
  }

  schema(): Schema {
    const fields = this.fieldList(null);
    this.expectEnd();
    return fields;
  }

  lone(): DataType {
    const t = this.type();
    this.expectEnd();
    return t;
  }

  /** Fields separated by commas, up to `close` (or the end of the text when null). */
  private fieldList(close: string | null): Field[] {
    const fields: Field[] = [];
    const seen = new Set<string>();
    do {
      const name = this.name();
      if (close !== null) this.accept(':');
      const type = this.type();
      let nullable = true;
      if (this.acceptWord('NOT')) {
        this.expectWord('NULL');
        nullable = false;
      }
      if (this.acceptWord('COMMENT')) {
        if (!this.peek().startsWith("'")) this.fail("a quoted comment after COMMENT");
        this.i++;
      }
      if (seen.has(name)) throw new AnalysisError(`${this.what} names field '${name}' twice.`, 'INVALID_SCHEMA');
      seen.add(name);
      fields.push({ name, type, nullable });
    } while (this.accept(','));
    return fields;
  }

  private type(): DataType {
    const word = this.peek();
    if (!/^[A-Za-z_]/.test(word)) this.fail('a type name');
    this.i++;
    const lower = word.toLowerCase();
    if (lower === 'array') {
      this.expect('<');
      const element = this.type();
      this.expect('>');
      return { kind: 'array', element };
    }
    if (lower === 'map') {
      this.expect('<');
      const keyAt = this.i;
      const key = this.type();
      if (key !== 'string') {
        this.i = keyAt;
        this.fail('STRING as the map key type (rows hold a map as an object, whose keys are text)');
      }
      this.expect(',');
      const value = this.type();
      this.expect('>');
      return { kind: 'map', key, value };
    }
    if (lower === 'struct') {
      this.expect('<');
      if (this.accept('>')) return { kind: 'struct', fields: [] };
      const fields = this.fieldList('>');
      this.expect('>');
      return { kind: 'struct', fields };
    }
    const wordAt = this.i - 1;
    let name = word;
    if (this.accept('(')) {
      const params: string[] = [];
      do {
        if (!/^\d+$/.test(this.peek())) this.fail('a number in the type parameters');
        params.push(this.peek());
        this.i++;
      } while (this.accept(','));
      this.expect(')');
      name += `(${params.join(',')})`;
    }
    const atomic = atomicTypeNamed(name, this.what);
    if (atomic === undefined) {
      this.i = wordAt;
      throw new AnalysisError(`Unknown type '${word}' in ${this.what} at position ${this.at() + 1}: use one of ` +
        `${ATOMIC_TYPE_LIST}, or ARRAY<type>, STRUCT<name: type, ...>, MAP<STRING, type>.`, 'UNKNOWN_TYPE');
    }
    return atomic;
  }

  private name(): string {
    const t = this.peek();
    if (t.startsWith('`') && t.length > 1) {
      this.i++;
      return t.slice(1, -1).replaceAll('``', '`');
    }
    if (!/^[A-Za-z_]/.test(t)) this.fail('a field name');
    this.i++;
    return t;
  }

  private peek(): string {
    return this.tokens[this.i]?.text ?? '';
  }

  private at(): number {
    return this.tokens[this.i]?.at ?? this.text.length;
  }

  private accept(symbol: string): boolean {
    if (this.peek() !== symbol) return false;
    this.i++;
    return true;
  }

  private acceptWord(word: string): boolean {
    if (this.peek().toUpperCase() !== word) return false;
    this.i++;
    return true;
  }

  private expect(symbol: string): void {
    if (!this.accept(symbol)) this.fail(`'${symbol}'`);
  }

  private expectWord(word: string): void {
    if (!this.acceptWord(word)) this.fail(word);
  }

  private expectEnd(): void {
    if (this.i < this.tokens.length) this.fail(this.peek() === '>' ? 'the end (one \'>\' too many)' : "',' or the end");
  }

  private fail(expected: string): never {
    const found = this.i < this.tokens.length ? `'${this.peek()}'` : 'the end of the text';
    throw new AnalysisError(`Cannot read ${this.what} ${JSON.stringify(this.text)}: expected ${expected} at position ` +
      `${this.at() + 1}, found ${found}. Write it as ${this.example}.`, 'INVALID_SCHEMA');
  }
}

/** A schema from DDL text: `'ts TIMESTAMP, user STRING, tags ARRAY<STRING>'`. */
export function parseSchemaDDL(ddl: string): Schema {
  return new DdlParser(ddl, 'schema',
    "'name TYPE, name TYPE', e.g. 'ts TIMESTAMP, user STRING, amount DOUBLE, tags ARRAY<STRING>'").schema();
}

/** One type from DDL text: `'INT'`, `'ARRAY<STRUCT<a: INT>>'`; `context` names where it was given. */
export function parseDataType(text: string, context: string): DataType {
  return new DdlParser(text, `the type of ${context}`, "a type such as 'INT', 'ARRAY<STRING>' or 'STRUCT<a: INT, b: STRING>'").lone();
}

function quotedName(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

function typeDDL(t: DataType): string {
  if (typeof t === 'string') return t === 'integer' ? 'INT' : t === 'long' ? 'BIGINT' : t.toUpperCase().replace(',', ', ');
  if (t.kind === 'array') return `ARRAY<${typeDDL(t.element)}>`;
  if (t.kind === 'map') return `MAP<STRING, ${typeDDL(t.value)}>`;
  return `STRUCT<${t.fields.map((f) => `${fieldDDL(f, ': ')}`).join(', ')}>`;
}

function fieldDDL(f: Field, separator: string): string {
  return `${quotedName(f.name)}${separator}${typeDDL(f.type)}${f.nullable ? '' : ' NOT NULL'}`;
}

/** DDL text that {@link parseSchemaDDL} reads back as `schema` (names quoted, so any name survives). */
export function schemaDDL(schema: Schema): string {
  return schema.map((f) => fieldDDL(f, ' ')).join(', ');
}
