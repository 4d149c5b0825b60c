import { AnalysisError, WeirError } from './errors.js';
import { unknownNameError } from './nearest-name.js';
import { Duration, parseDuration } from './duration.js';

export type OptionValue = string | number | boolean;

/** What a connector declares when it registers: the option names it reads. */
export interface ConnectorDeclaration {
  /**
   * Every option the connector reads (besides `path`). With it, an option outside the list is refused
   * when the query is defined (a typo is named with its nearest known name); without it, any option passes.
   */
  readonly options?: readonly string[];
}

/**
 * Connector options as users pass them to `.option(name, value)`. Spark stores every option as a
 * string; so does weir, and each getter validates and names the option in its error. Names are
 * case-insensitive, as in Spark (`maxfilespertrigger` is `maxFilesPerTrigger`).
 */
export class Options {
  /** By lower-cased name: the name as the user wrote it, and its value. */
  private readonly values: ReadonlyMap<string, { readonly name: string; readonly value: string }>;

  /**
   * @param declared lower-cased names the owner may read, once {@link declare}d; reading another one is
   * a connector bug (its declaration is incomplete), reported as such.
   */
  constructor(values: Readonly<Record<string, OptionValue>> | ReadonlyMap<string, string> = {}, private readonly owner = 'source',
    private readonly declared: ReadonlySet<string> | null = null) {
    const entries = values instanceof Map ? [...values] : Object.entries(values).map(([k, v]) => [k, String(v)] as const);
    this.values = new Map(entries.map(([name, value]) => [name.toLowerCase(), { name, value }]));
  }

  /**
   * Refuses any option not in `known` (naming the nearest known name), and returns options whose
   * getters accept only the `known` names.
   */
  declare(known: readonly string[]): Options {
    const names = new Set(known.map((k) => k.toLowerCase()));
    for (const [key, { name }] of this.values) {
      if (!names.has(key)) {
        throw unknownNameError({ what: 'option', given: name, where: `of the ${this.owner}`, known, code: 'UNKNOWN_OPTION' });
      }
    }
    return new Options(new Map(this.entries()), this.owner, names);
  }

  private get(name: string): string | undefined {
    const key = name.toLowerCase();
    if (this.declared && !this.declared.has(key)) {
      throw new WeirError('UNDECLARED_OPTION', `The ${this.owner} reads option '${name}', which it does not declare: ` +
        'add it to the options the connector registers with, so that users may set it.');
    }
    return this.values.get(key)?.value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    return this.get(name) ?? fallback;
  }

  required(name: string, hint: string): string {
    const value = this.get(name);
    if (value === undefined || value === '') {
      throw new AnalysisError(`The ${this.owner} needs option '${name}': ${hint}.`, 'MISSING_OPTION');
    }
    return value;
  }

  integer(name: string, fallback: number, min?: number): number;
  integer(name: string, fallback: undefined, min?: number): number | undefined;
  integer(name: string, fallback: number | undefined, min = 0): number | undefined {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be an integer >= ${min}, got '${raw}'.`, 'INVALID_OPTION');
    }
    return n;
  }

  number(name: string, fallback: number): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be a number, got '${raw}'.`, 'INVALID_OPTION');
    }
    return n;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new AnalysisError(`Option '${name}' of the ${this.owner} must be true or false, got '${raw}'.`, 'INVALID_OPTION');
  }

  duration(name: string, fallback: Duration): number {
    const raw = this.get(name);
    return parseDuration(raw === undefined ? fallback : /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw, `option '${name}'`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const match = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
    if (!match) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be one of ${allowed.join(', ')}, got '${raw}'.`,
        'INVALID_OPTION');
    }
    return match;
  }

  /** The options as the user named them. */
  entries(): [string, string][] {
    return [...this.values.values()].map(({ name, value }) => [name, value]);
  }
}
