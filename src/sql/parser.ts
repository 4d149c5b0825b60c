import { Decimal, MAX_PRECISION } from '../common/decimal.js';
import {
  ColumnDef, FromItem, JoinKind, OrderItem, Position, Query, Select, SelectItem, SqlExpr, Statement, Watermark,
} from './ast.js';
import { Token, tokenize } from './lexer.js';
import { SqlSyntaxError } from './syntax-error.js';

/** Milliseconds per interval unit, singular and plural as Spark accepts them. */
const INTERVAL_UNITS: Readonly<Record<string, number>> = {
  MILLISECOND: 1, MILLISECONDS: 1, SECOND: 1_000, SECONDS: 1_000, MINUTE: 60_000, MINUTES: 60_000,
  HOUR: 3_600_000, HOURS: 3_600_000, DAY: 86_400_000, DAYS: 86_400_000, WEEK: 604_800_000, WEEKS: 604_800_000,
};

const COMPARISONS = new Set(['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>']);

/** Parses a script of `;`-separated statements. */
export function parseStatements(sql: string): Statement[] {
  const parser = new Parser(tokenize(sql));
  const statements: Statement[] = [];
  while (!parser.atEnd()) {
    if (parser.acceptSymbol(';')) continue;
    statements.push(parser.statement());
    if (!parser.atEnd()) parser.expectSymbol(';', 'a \';\' between statements');
  }
  return statements;
}

/** Parses one query (`SELECT …`, with UNION ALL, ORDER BY, LIMIT). */
export function parseQuery(sql: string): Query {
  const parser = new Parser(tokenize(sql));
  const query = parser.query();
  parser.acceptSymbol(';');
  parser.expectEnd();
  return query;
}

/** Parses one expression, optionally with an alias (`amount * 2 AS doubled`), as `expr()` and `selectExpr()` take it. */
export function parseExpression(sql: string): SelectItem {
  const parser = new Parser(tokenize(sql));
  const item = parser.selectItem();
  parser.expectEnd();
  return item;
}

/** A recursive-descent parser over the tokens; each method reads one construct of the grammar. */
class Parser {
  private i = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  atEnd(): boolean {
    return this.peek().kind === 'end';
  }

  expectEnd(): void {
    if (!this.atEnd()) this.fail('the end of the text');
  }

  statement(): Statement {
    const at = this.position();
    if (this.acceptKeyword('CREATE')) {
      if (this.acceptKeyword('TABLE')) return this.createTable(at);
      if (this.acceptKeyword('OR')) this.expectKeyword('REPLACE');
      if (!this.acceptKeyword('TEMPORARY')) this.acceptKeyword('TEMP');
      this.expectKeyword('VIEW');
      const name = this.identifier('a view name');
      this.expectKeyword('AS');
      return { kind: 'createView', name, query: this.query(), at };
    }
    if (this.acceptKeyword('INSERT')) {
      this.expectKeyword('INTO');
      const table = this.identifier('a table name');
      return { kind: 'insert', table, query: this.query(), at };
    }
    return { kind: 'query', query: this.query() };
  }

  query(): Query {
    const parts: Select[] = [this.select()];
    while (this.acceptKeyword('UNION')) {
      if (!this.acceptKeyword('ALL')) {
        this.fail('ALL after UNION (UNION without ALL removes duplicates, which a stream cannot do; write UNION ALL and ' +
          'SELECT DISTINCT over it)');
      }
      parts.push(this.select());
    }
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do {
        const expr = this.expression();
        const descending = this.acceptKeyword('DESC');
        if (!descending) this.acceptKeyword('ASC');
        orderBy.push({ expr, descending });
      } while (this.acceptSymbol(','));
    }
    let limit: number | null = null;
    if (this.acceptKeyword('LIMIT')) {
      const token = this.peek();
      if (token.kind !== 'number' || !/^\d+$/.test(token.text)) this.fail('a whole number after LIMIT');
      this.i++;
      limit = Number(token.text);
    }
    return { parts, orderBy, limit };
  }

  selectItem(): SelectItem {
    const expr = this.expression();
    if (this.acceptKeyword('AS')) return { expr, alias: this.identifier('an alias after AS') };
    const next = this.peek();
    if (next.kind === 'identifier' || next.kind === 'quoted') return { expr, alias: this.identifier('an alias') };
    return { expr, alias: null };
  }

  private select(): Select {
    const at = this.position();
    if (this.acceptSymbol('(')) {
      const inner = this.query();
      this.expectSymbol(')', 'a closing parenthesis');
      if (inner.parts.length !== 1 || inner.orderBy.length > 0 || inner.limit !== null) {
        this.failAt(at, 'a single SELECT inside parentheses here');
      }
      return inner.parts[0]!;
    }
    this.expectKeyword('SELECT');
    const distinct = this.acceptKeyword('DISTINCT');
    if (!distinct) this.acceptKeyword('ALL');
    const items: SelectItem[] = [];
    do items.push(this.selectItem()); while (this.acceptSymbol(','));
    const from = this.acceptKeyword('FROM') ? this.fromClause() : null;
    const where = this.acceptKeyword('WHERE') ? this.expression() : null;
    const groupBy: SqlExpr[] = [];
    if (this.acceptKeyword('GROUP')) {
      this.expectKeyword('BY');
      do groupBy.push(this.expression()); while (this.acceptSymbol(','));
    }
    const having = this.acceptKeyword('HAVING') ? this.expression() : null;
    return { kind: 'select', distinct, items, from, where, groupBy, having, at };
  }

  private fromClause(): FromItem {
    let left = this.fromItem();
    for (;;) {
      if (this.acceptSymbol(',')) {
        this.fail('JOIN … ON or USING (a comma join has no join condition; weir needs one)');
      }
      const at = this.position();
      const type = this.joinKind();
      if (type === null) return left;
      const right = this.fromItem();
      let on: SqlExpr | null = null;
      let using: string[] | null = null;
      if (this.acceptKeyword('ON')) on = this.expression();
      else if (this.acceptKeyword('USING')) {
        this.expectSymbol('(', 'a parenthesised column list after USING');
        using = [];
        do using.push(this.identifier('a column name')); while (this.acceptSymbol(','));
        this.expectSymbol(')', 'a closing parenthesis');
      } else this.fail('ON <condition> or USING (<columns>) after the joined table');
      left = { kind: 'join', left, right, type, on, using, at };
    }
  }

  private joinKind(): JoinKind | null {
    if (this.acceptKeyword('JOIN')) return 'inner';
    if (this.acceptKeyword('INNER')) return this.joinAfter('inner');
    if (this.acceptKeyword('CROSS')) this.fail('a join with a condition (CROSS JOIN is not supported on streams)');
    for (const [word, kind] of [['LEFT', 'left'], ['RIGHT', 'right'], ['FULL', 'full']] as const) {
      if (!this.acceptKeyword(word)) continue;
      if (word === 'LEFT' && this.acceptKeyword('SEMI')) return this.joinAfter('left_semi');
      if (word === 'LEFT' && this.acceptKeyword('ANTI')) return this.joinAfter('left_anti');
      this.acceptKeyword('OUTER');
      return this.joinAfter(kind);
    }
    return null;
  }

  private joinAfter(kind: JoinKind): JoinKind {
    this.expectKeyword('JOIN');
    return kind;
  }

  private fromItem(): FromItem {
    const at = this.position();
    let item: FromItem;
    if (this.acceptSymbol('(')) {
      const query = this.query();
      this.expectSymbol(')', 'a closing parenthesis after the subquery');
      item = { kind: 'subquery', query, alias: this.optionalAlias(), watermark: null, at };
    } else {
      const name = this.identifier('a table or view name');
      item = { kind: 'table', name, alias: this.optionalAlias(), watermark: null, at };
    }
    if (this.acceptKeyword('WATERMARK')) {
      const column = this.identifier('the event-time column after WATERMARK');
      this.expectKeyword('DELAY');
      this.expectKeyword('OF');
      item = { ...item, watermark: { column, delayMs: this.intervalMs() } };
    }
    return item;
  }

  private optionalAlias(): string | null {
    if (this.acceptKeyword('AS')) return this.identifier('an alias after AS');
    const next = this.peek();
    return next.kind === 'identifier' || next.kind === 'quoted' ? this.identifier('an alias') : null;
  }

  private createTable(at: Position): Statement {
    const name = this.identifier('a table name');
    const columns: ColumnDef[] = [];
    let watermark: Watermark | null = null;
    if (this.acceptSymbol('(')) {
      do {
        if (this.acceptKeyword('WATERMARK')) {
          this.expectKeyword('FOR');
          const column = this.identifier('the event-time column after WATERMARK FOR');
          this.expectKeyword('AS');
          const again = this.identifier(`'${column}' again (WATERMARK FOR ${column} AS ${column} - INTERVAL …)`);
          if (again !== column) this.fail(`'${column} - INTERVAL …' (the watermark must be the column minus a delay)`);
          this.expectSymbol('-', `'-' and the delay (WATERMARK FOR ${column} AS ${column} - INTERVAL …)`);
          watermark = { column, delayMs: this.intervalMs() };
        } else {
          columns.push({ name: this.identifier('a column name'), type: this.typeName() });
        }
      } while (this.acceptSymbol(','));
      this.expectSymbol(')', 'a closing parenthesis after the columns');
    }
    const options = new Map<string, string>();
    this.expectKeyword('WITH');
    this.expectSymbol('(', "the options in parentheses: WITH ('format' = 'json', …)");
    do {
      const key = this.peek();
      if (key.kind !== 'string' && key.kind !== 'identifier') this.fail("an option name such as 'format'");
      this.i++;
      this.expectSymbol('=', `'=' after option '${key.text}'`);
      const value = this.peek();
      if (value.kind !== 'string' && value.kind !== 'number' && !(value.kind === 'keyword' && /^(TRUE|FALSE)$/.test(value.text))) {
        this.fail(`a value for option '${key.text}' (a quoted string, a number, true or false)`);
      }
      this.i++;
      options.set(key.text, value.kind === 'keyword' ? value.text.toLowerCase() : value.text);
    } while (this.acceptSymbol(','));
    this.expectSymbol(')', 'a closing parenthesis after the options');
    return { kind: 'createTable', name, columns, watermark, options, at };
  }

  /** A type name, with parameters kept in the text (`DECIMAL(10, 2)`, `ARRAY<STRING>`). */
  private typeName(): string {
    const first = this.peek();
    if (first.kind !== 'identifier' && first.kind !== 'keyword') this.fail('a type name');
    this.i++;
    let text = first.text;
    if (this.acceptSymbol('(')) {
      const args: string[] = [];
      do {
        const n = this.peek();
        if (n.kind !== 'number') this.fail('a number in the type parameters');
        this.i++;
        args.push(n.text);
      } while (this.acceptSymbol(','));
      this.expectSymbol(')', 'a closing parenthesis after the type parameters');
      text += `(${args.join(',')})`;
    }
    return text;
  }

  // Expressions, loosest first: OR, AND, NOT, predicates, || + -, * / %, unary minus, primary.

  expression(): SqlExpr {
    return this.or();
  }

  private or(): SqlExpr {
    let left = this.and();
    while (this.peekKeyword('OR')) {
      const at = this.position();
      this.i++;
      left = { kind: 'binary', op: 'or', left, right: this.and(), at };
    }
    return left;
  }

  private and(): SqlExpr {
    let left = this.not();
    while (this.peekKeyword('AND')) {
      const at = this.position();
      this.i++;
      left = { kind: 'binary', op: 'and', left, right: this.not(), at };
    }
    return left;
  }

  private not(): SqlExpr {
    const at = this.position();
    if (this.acceptKeyword('NOT')) return { kind: 'not', child: this.not(), at };
    return this.predicate();
  }

  private predicate(): SqlExpr {
    const left = this.additive();
    const at = this.position();
    const token = this.peek();
    if (token.kind === 'symbol' && COMPARISONS.has(token.text)) {
      this.i++;
      const op = token.text === '==' ? '=' : token.text === '<>' ? '!=' : token.text;
      return { kind: 'binary', op, left, right: this.additive(), at };
    }
    if (this.acceptKeyword('IS')) {
      const negated = this.acceptKeyword('NOT');
      this.expectKeyword('NULL');
      return { kind: 'isNull', child: left, negated, at };
    }
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      this.expectSymbol('(', 'a parenthesised list after IN');
      const list: SqlExpr[] = [];
      do list.push(this.expression()); while (this.acceptSymbol(','));
      this.expectSymbol(')', 'a closing parenthesis after the IN list');
      return { kind: 'in', child: left, list, negated, at };
    }
    if (this.acceptKeyword('BETWEEN')) {
      const low = this.additive();
      this.expectKeyword('AND');
      return { kind: 'between', child: left, low, high: this.additive(), negated, at };
    }
    if (this.peekKeyword('LIKE') || this.peekKeyword('RLIKE')) {
      const op = this.next().text === 'LIKE' ? 'like' : 'rlike';
      return { kind: 'like', op, child: left, pattern: this.additive(), negated, at };
    }
    if (negated) this.fail('IN, BETWEEN, LIKE or RLIKE after NOT');
    return left;
  }

  private additive(): SqlExpr {
    let left = this.multiplicative();
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'symbol' || !['+', '-', '||'].includes(token.text)) return left;
      this.i++;
      const right = this.multiplicative();
      left = token.text === '||'
        ? { kind: 'call', name: 'concat', args: [left, right], distinct: false, at: token }
        : { kind: 'binary', op: token.text, left, right, at: token };
    }
  }

  private multiplicative(): SqlExpr {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'symbol' || !['*', '/', '%'].includes(token.text)) return left;
      this.i++;
      left = { kind: 'binary', op: token.text, left, right: this.unary(), at: token };
    }
  }

  private unary(): SqlExpr {
    const at = this.position();
    if (this.acceptSymbol('-')) {
      const child = this.unary();
      if (child.kind === 'literal' && typeof child.value === 'number') return { ...child, value: -child.value, at };
      if (child.kind === 'literal' && child.value instanceof Decimal) return { ...child, value: child.value.negate(), at };
      if (child.kind === 'interval') return { ...child, ms: -child.ms, at };
      return { kind: 'negate', child, at };
    }
    if (this.acceptSymbol('+')) return this.unary();
    return this.primary();
  }

  private primary(): SqlExpr {
    const token = this.peek();
    const at = this.position();
    switch (token.kind) {
      case 'number': {
        this.i++;
        const text = token.text.replace(/[lLdD]$/, '');
        // As in Spark SQL, a number with a point and no exponent or suffix is an exact DECIMAL (1.5 is
        // DECIMAL(2,1)); 1.5e0 and 1.5D are doubles.
        if (/^(?:\d+\.\d*|\.\d+)$/.test(token.text)) {
          const decimal = Decimal.parse(token.text);
          if (decimal === null || decimal.precision > MAX_PRECISION) {
            throw new SqlSyntaxError(`the decimal literal ${token.text} has more than ${MAX_PRECISION} digits; write it as a ` +
              `double (${token.text}D)`, at);
          }
          return { kind: 'literal', value: decimal, at };
        }
        const value = Number(text);
        // A whole-number literal is a LONG; beyond 2^53 a JavaScript number would round it silently.
        if (/^\d+[lL]?$/.test(token.text) && !Number.isSafeInteger(value)) {
          throw new SqlSyntaxError(`the integer literal ${token.text} is beyond the exact LONG range ±(2^53−1); write it ` +
            `as a string ('${text}') to keep its digits, or as a double (${text}D)`, at);
        }
        return { kind: 'literal', value, at };
      }
      case 'string':
        this.i++;
        return { kind: 'literal', value: token.text, at };
      case 'symbol':
        if (this.acceptSymbol('(')) {
          const inner = this.expression();
          this.expectSymbol(')', 'a closing parenthesis');
          return inner;
        }
        if (this.acceptSymbol('*')) return { kind: 'star', qualifier: null, at };
        break;
      case 'keyword':
        switch (token.text) {
          case 'NULL': this.i++; return { kind: 'literal', value: null, at };
          case 'TRUE': this.i++; return { kind: 'literal', value: true, at };
          case 'FALSE': this.i++; return { kind: 'literal', value: false, at };
          case 'INTERVAL': return { kind: 'interval', ms: this.intervalMs(), at };
          case 'CAST': return this.cast(at);
          case 'CASE': return this.caseExpr(at);
          // `left(s, n)`, `right(s, n)`: keywords that are also function names.
          case 'LEFT': case 'RIGHT':
            if (this.peekAt(1).text === '(') return this.call(this.next().text.toLowerCase(), at);
            break;
          default: break;
        }
        break;
      case 'identifier': case 'quoted': {
        if (token.kind === 'identifier' && /^(TIMESTAMP|DATE)$/i.test(token.text) && this.peekAt(1).kind === 'string') {
          this.i++;
          return { kind: 'cast', child: { kind: 'literal', value: this.next().text, at }, type: token.text.toLowerCase(), at };
        }
        if (token.kind === 'identifier' && this.peekAt(1).text === '(' && this.peekAt(1).kind === 'symbol') {
          this.i++;
          return this.call(token.text.toLowerCase(), at);
        }
        const path = [this.identifier('a column name')];
        while (this.acceptSymbol('.')) {
          if (this.acceptSymbol('*')) return { kind: 'star', qualifier: path.join('.'), at };
          path.push(this.identifier('a field name after \'.\''));
        }
        return { kind: 'column', path, at };
      }
      default: break;
    }
    return this.fail('an expression (a column, a literal, a function call or a parenthesised expression)');
  }

  private call(name: string, at: Position): SqlExpr {
    this.expectSymbol('(', `'(' after ${name}`);
    const distinct = this.acceptKeyword('DISTINCT');
    const args: SqlExpr[] = [];
    if (!this.acceptSymbol(')')) {
      do args.push(this.expression()); while (this.acceptSymbol(','));
      this.expectSymbol(')', `a closing parenthesis after the arguments of ${name}`);
    }
    return { kind: 'call', name, args, distinct, at };
  }

  private cast(at: Position): SqlExpr {
    this.i++;
    this.expectSymbol('(', "'(' after CAST");
    const child = this.expression();
    this.expectKeyword('AS');
    const type = this.typeName();
    this.expectSymbol(')', 'a closing parenthesis after the CAST type');
    return { kind: 'cast', child, type, at };
  }

  private caseExpr(at: Position): SqlExpr {
    this.i++;
    const operand = this.peekKeyword('WHEN') ? null : this.expression();
    const branches: [SqlExpr, SqlExpr][] = [];
    while (this.acceptKeyword('WHEN')) {
      const condition = this.expression();
      this.expectKeyword('THEN');
      branches.push([condition, this.expression()]);
    }
    if (branches.length === 0) this.fail('WHEN after CASE');
    const otherwise = this.acceptKeyword('ELSE') ? this.expression() : null;
    this.expectKeyword('END');
    return { kind: 'case', operand, branches, otherwise, at };
  }

  /** `INTERVAL 10 SECONDS`, `INTERVAL '10' SECOND`, `INTERVAL '10 seconds'`, `INTERVAL 1 MINUTE 30 SECONDS`. */
  private intervalMs(): number {
    this.expectKeyword('INTERVAL');
    let total = 0;
    let parts = 0;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'string' && /^\s*-?\d+(\.\d+)?\s+[A-Za-z]+\s*$/.test(token.text)) {
        this.i++;
        const [amount, unit] = token.text.trim().split(/\s+/) as [string, string];
        total += Number(amount) * this.unitMs(unit, token);
      } else if (token.kind === 'number' || (token.kind === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(token.text))) {
        this.i++;
        const unit = this.peek();
        if (unit.kind !== 'identifier') this.fail('a unit such as SECONDS or MINUTE after the interval amount');
        this.i++;
        total += Number(token.text) * this.unitMs(unit.text, unit);
      } else break;
      parts++;
    }
    if (parts === 0) this.fail("an interval amount and unit: INTERVAL 10 SECONDS or INTERVAL '10' SECOND");
    return total;
  }

  private unitMs(unit: string, where: Position): number {
    const ms = INTERVAL_UNITS[unit.toUpperCase()];
    if (ms === undefined) {
      throw new SqlSyntaxError(`'${unit}' is not an interval unit (use MILLISECOND(S), SECOND(S), MINUTE(S), HOUR(S), ` +
        'DAY(S) or WEEK(S))', where);
    }
    return ms;
  }

  // Token helpers.

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private peekAt(offset: number): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private position(): Position {
    const t = this.peek();
    return { line: t.line, column: t.column };
  }

  private peekKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.text === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.peekKeyword(word)) return false;
    this.i++;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(word);
  }

  acceptSymbol(symbol: string): boolean {
    const t = this.peek();
    if (t.kind !== 'symbol' || t.text !== symbol) return false;
    this.i++;
    return true;
  }

  expectSymbol(symbol: string, what: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(what);
  }

  private identifier(what: string): string {
    const t = this.peek();
    if (t.kind === 'identifier' || t.kind === 'quoted') {
      this.i++;
      return t.text;
    }
    if (t.kind === 'keyword') this.fail(`${what} (${t.text} is a keyword: quote it with backticks, \`${t.text.toLowerCase()}\`)`);
    return this.fail(what);
  }

  private fail(expected: string): never {
    return this.failAt(this.peek(), expected);
  }

  private failAt(where: Position, expected: string): never {
    const t = this.tokens.find((tok) => tok.line === where.line && tok.column === where.column) ?? this.peek();
    const found = t.kind === 'end' ? 'the end of the text' : t.kind === 'string' ? `'${t.text}'` : `'${t.text}'`;
    throw new SqlSyntaxError(`expected ${expected}, found ${found}`, where);
  }
}
