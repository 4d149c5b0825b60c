import { WeirError } from '../common/errors.js';

/** A SQL text that does not parse: where (line and column, 1-based) and what was expected there. */
export class SqlSyntaxError extends WeirError {
  readonly line: number;
  readonly column: number;

  constructor(problem: string, where: { readonly line: number; readonly column: number }) {
    super('SQL_SYNTAX', `SQL syntax error at line ${where.line}, column ${where.column}: ${problem}.`);
    this.line = where.line;
    this.column = where.column;
  }
}
