import type { DataFrame } from '../dataframe.js';

/** A session's temporary views, by name (case-insensitive, as Spark's). */
export class ViewCatalog {
  private readonly views = new Map<string, DataFrame>();

  set(name: string, df: DataFrame): void {
    this.views.set(name.toLowerCase(), df);
  }

  get(name: string): DataFrame | undefined {
    return this.views.get(name.toLowerCase());
  }

  names(): string[] {
    return [...this.views.keys()].sort();
  }
}
