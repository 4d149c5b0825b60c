import pg from 'pg';

/**
 * Runs a `CREATE ... IF NOT EXISTS` or `ADD COLUMN IF NOT EXISTS` that another sink may run at the same
 * time: the loser sees a duplicate catalog entry, and the object exists either way.
 */
export async function createConcurrently(client: pg.Client, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (err) {
    if (!(err instanceof pg.DatabaseError && ['23505', '42P07', '42701'].includes(err.code ?? ''))) throw err;
  }
}
