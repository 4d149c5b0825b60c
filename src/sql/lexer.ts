import { SqlSyntaxError } from './syntax-error.js';

export type TokenKind = 'identifier' | 'quoted' | 'keyword' | 'number' | 'string' | 'symbol' | 'end';

/** One token with where it starts, for error messages. */
export interface Token {
  readonly kind: TokenKind;
  /** Keywords upper-cased; identifiers as written; strings without their quotes. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

/** Words that cannot be bare identifiers (a column named like one needs backticks, as in Spark). */
const KEYWORDS = new Set([
  'ALL', 'AND', 'ANTI', 'AS', 'ASC', 'BETWEEN', 'BY', 'CASE', 'CAST', 'CREATE', 'CROSS', 'DELAY', 'DESC', 'DISTINCT',
  'ELSE', 'END', 'ESCAPE', 'FALSE', 'FOR', 'FROM', 'FULL', 'GROUP', 'HAVING', 'IN', 'INNER', 'INSERT', 'INTERVAL', 'INTO',
  'IS', 'JOIN', 'LEFT', 'LIKE', 'LIMIT', 'NOT', 'NULL', 'OF', 'ON', 'OR', 'ORDER', 'OUTER', 'REPLACE', 'RIGHT', 'RLIKE',
  'SELECT', 'SEMI', 'TABLE', 'TEMP', 'TEMPORARY', 'THEN', 'TRUE', 'UNION', 'USING', 'VIEW', 'WATERMARK', 'WHEN', 'WHERE',
  'WITH',
]);

/** Longest first, so `<=>` is not read as `<=` and `>`. */
const SYMBOLS = ['<=>', '<>', '!=', '<=', '>=', '==', '||', '(', ')', ',', '.', '*', '+', '-', '/', '%', '=', '<', '>', ';'];

/** Splits SQL text into tokens; comments (`-- …`, `/* … *\/`) and white space are dropped. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (pos: number): { line: number; column: number } => ({ line, column: pos - lineStart + 1 });
  const advanceOver = (end: number): void => {
    for (let j = i; j < end; j++) {
      if (sql[j] === '\n') {
        line++;
        lineStart = j + 1;
      }
    }
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      advanceOver(i + 1);
      continue;
    }
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      advanceOver(end < 0 ? sql.length : end);
      continue;
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlSyntaxError('a comment opened here is never closed (missing */)', at(i));
      advanceOver(end + 2);
      continue;
    }
    const start = at(i);
    if (c === '\'' || c === '"') {
      const { text, end } = readQuoted(sql, i, c, start);
      tokens.push({ kind: 'string', text, ...start });
      advanceOver(end);
    } else if (c === '`') {
      const { text, end } = readQuoted(sql, i, '`', start);
      tokens.push({ kind: 'quoted', text, ...start });
      advanceOver(end);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[lLdD]?/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: m[0], ...start });
      advanceOver(i + m[0].length);
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      const upper = word.toUpperCase();
      tokens.push(KEYWORDS.has(upper) ? { kind: 'keyword', text: upper, ...start } : { kind: 'identifier', text: word, ...start });
      advanceOver(i + word.length);
    } else {
      const symbol = SYMBOLS.find((s) => sql.startsWith(s, i));
      if (!symbol) throw new SqlSyntaxError(`unexpected character '${c}'`, start);
      tokens.push({ kind: 'symbol', text: symbol, ...start });
      advanceOver(i + symbol.length);
    }
  }
  tokens.push({ kind: 'end', text: '', ...at(i) });
  return tokens;
}

/** A quoted string or identifier; the quote doubled, or escaped with a backslash in strings, stands for itself. */
function readQuoted(sql: string, start: number, quote: string, where: { line: number; column: number }): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === quote) {
      if (sql[i + 1] === quote) {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    if (c === '\\' && quote !== '`' && i + 1 < sql.length) {
      const next = sql[i + 1]!;
      text += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      i += 2;
      continue;
    }
    text += c;
    i++;
  }
  throw new SqlSyntaxError(`the ${quote === '`' ? 'quoted identifier' : 'string'} opened here is never closed (missing ${quote})`,
    where);
}
