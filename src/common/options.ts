import { AnalysisError } from './errors.js';
import { Duration, parseDuration } from './duration.js';

export type OptionValue = string | number | boolean;

/**
 * Connector options as users pass them to `.option(name, value)`. Spark stores every option as a
 * string; so does weir, and each getter validates and names the option in its error.
 */
export class Options {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: Readonly<Record<string, OptionValue>> | ReadonlyMap<string, string> = {}, private readonly owner = 'source') {
    this.values = values instanceof Map ? values : new Map(Object.entries(values).map(([k, v]) => [k, String(v)]));
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    return this.values.get(name) ?? fallback;
  }

  required(name: string, hint: string): string {
    const value = this.values.get(name);
    if (value === undefined || value === '') {
      throw new AnalysisError(`The ${this.owner} needs option '${name}': ${hint}.`, 'MISSING_OPTION');
    }
    return value;
  }

  integer(name: string, fallback: number, min?: number): number;
  integer(name: string, fallback: undefined, min?: number): number | undefined;
  integer(name: string, fallback: number | undefined, min = 0): number | undefined {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be an integer >= ${min}, got '${raw}'.`, 'INVALID_OPTION');
    }
    return n;
  }

  number(name: string, fallback: number): number {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be a number, got '${raw}'.`, 'INVALID_OPTION');
    }
    return n;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new AnalysisError(`Option '${name}' of the ${this.owner} must be true or false, got '${raw}'.`, 'INVALID_OPTION');
  }

  duration(name: string, fallback: Duration): number {
    const raw = this.values.get(name);
    return parseDuration(raw === undefined ? fallback : /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw, `option '${name}'`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    const match = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
    if (!match) {
      throw new AnalysisError(`Option '${name}' of the ${this.owner} must be one of ${allowed.join(', ')}, got '${raw}'.`,
        'INVALID_OPTION');
    }
    return match;
  }

  entries(): [string, string][] {
    return [...this.values];
  }
}
