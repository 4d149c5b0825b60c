/** A PostgreSQL test suite's connection and tables: created in its `before`, the tables dropped in its `after`. */
import { after, before } from 'node:test';
import pg from 'pg';
import { Service } from './services.js';

export interface PostgresTables {
  /** The server's URL (set once the suite's `before` ran). */
  readonly url: string;
  /** A connection for the test's own queries. */
  readonly admin: pg.Client;
  /** A table name of this run, dropped when the suite ends. */
  tableName(): string;
}

/** Registers the suite's hooks; call inside a `describe`. */
export function postgresTables(postgres: Service, prefix: string): PostgresTables {
  let url = '';
  let admin: pg.Client | null = null;
  const tables: string[] = [];
  let seq = 0;
  before(async () => {
    url = postgres.url();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    for (const t of tables) await admin?.query(`DROP TABLE IF EXISTS "${t}"`);
    await admin?.end();
  });
  return {
    get url() { return url; },
    get admin() {
      if (admin === null) throw new Error('the PostgreSQL connection is opened in the suite\'s before hook');
      return admin;
    },
    tableName() {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq++}`;
      tables.push(name);
      return name;
    },
  };
}
