/** Reading what a query wrote to a JetStream stream, for the tests that check it row by row. */
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { Options } from '../../src/common/options.js';
import { Row, Schema } from '../../src/common/schema.js';
import { JetStreamHandle } from '../../src/connectors/nats/client.js';
import { NatsSource } from '../../src/connectors/nats/source.js';

/** Every row of the stream, in order (`url`: the cluster; `admin`: a connection to it). */
export async function streamRows(url: string, admin: JetStreamHandle, stream: string, schema: Schema): Promise<Row[]> {
  const reader = new NatsSource({ format: 'nats', options: new Options({ url, stream }, 'nats source'), schema, path: null });
  await reader.open({ storage: new MemoryStorage(), queryId: 'q', notifyDataAvailable: () => {} });
  try {
    const last = (await admin.jsm.streams.info(stream)).state.last_seq;
    return last === 0 ? [] : await reader.getBatch(null, { [stream]: last });
  } finally {
    await reader.stop();
  }
}
