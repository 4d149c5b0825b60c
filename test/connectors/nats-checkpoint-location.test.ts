import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnalysisError, CheckpointError } from '../../src/index.js';
import { MemoryStorage } from '../../src/checkpoint/memory-storage.js';
import { openCheckpointStorage } from '../../src/checkpoint/registry.js';
import { parseJetStreamLocation } from '../../src/connectors/nats/checkpoint-location.js';
import { JetStreamStorage } from '../../src/connectors/nats/jetstream-storage.js';
import '../../src/connectors/builtin.js';

test('a nats:// checkpointLocation names its servers, bucket, replicas and credentials', () => {
  const location = parseJetStreamLocation('nats://u:p%40ss@10.0.0.1:4222,10.0.0.2:4222/orders_1?replicas=5');
  assert.deepEqual(location.servers, ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
  assert.equal(location.name, 'orders_1');
  assert.equal(location.replicas, 5);
  assert.deepEqual(location.auth, { user: 'u', pass: 'p@ss' });
  assert.equal(location.display, 'nats://***@10.0.0.1:4222,10.0.0.2:4222/orders_1', 'no password in messages');
  assert.equal(parseJetStreamLocation('nats://h:1/q?token=s3cret').auth.token, 's3cret');
  assert.equal(parseJetStreamLocation('nats://h:1/q').replicas, undefined);
  // The registry hands the whole text (several hosts) to the storage.
  assert.ok(openCheckpointStorage('nats://a:1,b:2,c:3/q') instanceof JetStreamStorage);
});

test('a bad nats:// checkpointLocation is refused naming what is wrong', () => {
  const refused = (location: string, why: RegExp): void => {
    assert.throws(() => openCheckpointStorage(location),
      (err: unknown) => err instanceof AnalysisError && err.code === 'INVALID_OPTION' && why.test(err.message), location);
  };
  refused('nats://h:1/a.b', /has the name 'a\.b'/);
  refused('nats://h:1/', /has the name ''/);
  refused('nats://h:1/q/more', /is not a JetStream location/);
  refused('nats://h:1/q?replicas=7', /replicas=7; give 1 to 5/);
  refused('nats://h:1/q?replica=3', /unknown parameter 'replica'/);
  refused('nats://h:1/q?creds=/no/such/file.creds', /credentials file '\/no\/such\/file.creds'/);
  refused('nats://u:pw@h:1/a.b', /nats:\/\/\*\*\*@h:1\/a\.b/);
});

test("option('standby') on a storage without leases is refused with STANDBY_UNSUPPORTED", async () => {
  await assert.rejects(new MemoryStorage().lock({ queryId: 'q', runId: 'r' }, { standby: true }),
    (err: unknown) => err instanceof CheckpointError && err.code === 'STANDBY_UNSUPPORTED' && /nats:\/\//.test(err.message));
});
