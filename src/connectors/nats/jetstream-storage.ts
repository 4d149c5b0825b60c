import { createHash, randomUUID } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { StoredMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Base64UrlPaddedCodec, Objm } from '@nats-io/obj';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { CheckpointLock, CheckpointStorage, FileExistsError, LockOptions, LockOwner } from '../../checkpoint/storage.js';
import { CheckpointError, errorMessage } from '../../common/errors.js';
import { withinTime } from '../../common/within-time.js';
import { childNames, fileKey, LEASE_KEY } from './checkpoint-keys.js';
import { JetStreamLocation, parseJetStreamLocation, replicasFor } from './checkpoint-location.js';
import { connectJetStream, JetStreamHandle } from './client.js';
import { acquireLease, LeaseRecord, LeaseStore, StoredLease } from './lease.js';

/** Files at least this large go to the object store whatever their path (a KV entry is one NATS message). */
const INLINE_LIMIT = 256 * 1024;
/** How long a write or read keeps retrying while the cluster elects a leader or a server comes back. */
const RETRY_FOR_MS = 60_000;
/**
 * How long one attempt may go unanswered before it is abandoned and tried again. Requests have their own
 * timeout; an attempt of several requests is bounded here.
 */
const ATTEMPT_TIMEOUT_MS = 15_000;
/** The pause after a failed attempt doubles from this up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

const OBJECT_HEADER = 'Weir-Object';
const SHA256_HEADER = 'Weir-Sha256';
const OPERATION_HEADER = 'KV-Operation';

interface Buckets {
  readonly handle: JetStreamHandle;
  readonly objects: ObjectStore;
  readonly stream: string;
  readonly subjectPrefix: string;
  /** The object store's bucket name (its stream is `OBJ_<name>`). */
  readonly objectBucket: string;
}

/** The write this process may make: its lease's epoch and the stream sequence it last wrote. */
interface Fence { readonly epoch: number; lastSeq: number }

/**
 * Checkpoint storage on NATS JetStream (`checkpointLocation 'nats://host:port[,…]/<name>'`): every file is
 * an entry of the key-value bucket `weir_<name>`, its bytes inline or, for state files and large files,
 * in the object store `weir_<name>` under a name used once. The bytes are the same framed, checksummed
 * files as on disk. Both are JetStream streams replicated by the cluster's Raft groups.
 *
 * Fencing: once this process holds the lease, each of its writes is published with the stream's
 * expected last sequence (the one its own previous write got). A standby that takes the lease over
 * writes to the same stream, so the old holder's next write is refused by the server itself, whatever
 * the old holder believes about time; it then fails with `FENCED` and writes nothing after.
 */
export class JetStreamStorage implements CheckpointStorage, LeaseStore {
  readonly description: string;
  private readonly location: JetStreamLocation;
  private buckets: Promise<Buckets> | null = null;
  private fence: Fence | null = null;
  private fencedBy: CheckpointError | null = null;
  /** Fenced writes run one at a time: each expects the sequence the previous one got. */
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** Objects this process put whose entry is not published yet: the orphan sweep must not take them. */
  private readonly pendingObjects = new Set<string>();
  private sweep: Promise<number> = Promise.resolve(0);

  constructor(raw: string) {
    this.location = parseJetStreamLocation(raw);
    this.description = `${this.location.display}`;
  }

  locate(path: string): string {
    return path === '' ? this.description : `${this.description}/${path}`;
  }

  async read(path: string): Promise<Buffer | null> {
    const b = await this.open();
    const msg = await this.lastMessage(b, fileKey(path), path);
    if (msg === null) return null;
    const objectName = msg.header?.get(OBJECT_HEADER);
    if (!objectName) return Buffer.from(msg.data);
    const data = await this.retrying(`read ${this.locate(path)}`, () => readObject(b, objectName));
    const where = this.locate(path);
    if (data === null) {
      throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where} names the object '${objectName}', which the ` +
        `object store weir_${this.location.name} does not hold. Restore the checkpoint from a backup (weir checkpoint copy).`);
    }
    const sha = createHash('sha256').update(data).digest('hex');
    if (sha !== msg.header?.get(SHA256_HEADER)) {
      throw new CheckpointError('CHECKPOINT_CORRUPT', where, `${where}: the object '${objectName}' has SHA-256 ${sha}, ` +
        `the entry says ${msg.header?.get(SHA256_HEADER)}. Restore the checkpoint from a backup (weir checkpoint copy).`);
    }
    return Buffer.from(data);
  }

  /** An object's digest is in its entry's header: only the entry is read. */
  async sha256(path: string): Promise<string | null> {
    const msg = await this.lastMessage(await this.open(), fileKey(path), path);
    if (msg === null) return null;
    return msg.header?.get(SHA256_HEADER) || createHash('sha256').update(msg.data).digest('hex');
  }

  async writeAtomic(path: string, data: Buffer, options: { overwrite: boolean }): Promise<void> {
    this.throwIfFenced();
    const b = await this.open();
    const key = fileKey(path);
    const headers = natsHeaders();
    let payload: Uint8Array = data;
    let objectName: string | null = null;
    if (data.length >= INLINE_LIMIT || path.startsWith('state/')) {
      // Written first under a name used once: an object no entry names is garbage, never a wrong file.
      objectName = `${key}@${randomUUID()}`;
      this.pendingObjects.add(objectName);
      await this.retrying(`write ${this.locate(path)}`, () => b.objects.putBlob({ name: objectName! }, data));
      headers.set(OBJECT_HEADER, objectName);
      headers.set(SHA256_HEADER, createHash('sha256').update(data).digest('hex'));
      payload = new Uint8Array(0);
    }
    const previous = options.overwrite ? await this.lastMessage(b, key, path) : null;
    try {
      await this.publish(b, key, payload, headers, { createOnly: !options.overwrite, where: this.locate(path) });
    } catch (err) {
      if (objectName !== null) await b.objects.delete(objectName).catch(() => undefined);
      throw err;
    } finally {
      if (objectName !== null) this.pendingObjects.delete(objectName);
    }
    const replaced = previous?.header?.get(OBJECT_HEADER);
    if (replaced) await b.objects.delete(replaced).catch(() => undefined);
  }

  async list(dir: string): Promise<string[]> {
    return childNames(fileKey(dir), await this.keysUnder(fileKey(dir)));
  }

  async delete(path: string): Promise<void> {
    this.throwIfFenced();
    const b = await this.open();
    const key = fileKey(path);
    const keys = await this.keysUnder(key);
    if ((await this.lastMessage(b, key, path)) !== null) keys.push(key);
    for (const k of keys) {
      const msg = await this.lastMessage(b, k, path);
      const headers = natsHeaders();
      headers.set(OPERATION_HEADER, 'PURGE');
      headers.set('Nats-Rollup', 'sub');
      // The marker is the fenced part; removing it afterwards only saves space.
      await this.publish(b, k, new Uint8Array(0), headers, { createOnly: false, where: this.locate(path) });
      await b.handle.jsm.streams.purge(b.stream, { filter: `${b.subjectPrefix}${k}` }).catch(() => undefined);
      const objectName = msg?.header?.get(OBJECT_HEADER);
      if (objectName) await b.objects.delete(objectName).catch(() => undefined);
    }
  }

  async lock(owner: LockOwner, options?: LockOptions): Promise<CheckpointLock> {
    const lock = await acquireLease(this, owner, options ?? {});
    // Recovery of the store itself, off the takeover's path: objects that a writer killed or fenced between an
    // object and its entry left behind. A failed sweep is retried by the next holder.
    this.deleteOrphanedObjects().catch(() => undefined);
    return lock;
  }

  /**
   * Deletes the objects no entry names, except this process's own writes in flight; resolves with how many.
   * Only the holder of the lease runs it: every other writer is fenced, so an object of theirs that no entry
   * names now never will be. An object is named `<key>@<uuid>`, so one read of its key's entry decides.
   */
  deleteOrphanedObjects(): Promise<number> {
    const run = this.sweep.then(() => this.sweepOrphans());
    this.sweep = run.catch(() => 0);
    return run;
  }

  /** The last orphan sweep (started by lock() or asked for): how many objects it deleted (0 when it failed). */
  orphanSweep(): Promise<number> {
    return this.sweep;
  }

  private async sweepOrphans(): Promise<number> {
    const b = await this.open();
    const names = await this.retrying('list the object store', () => liveObjectNames(b));
    let deleted = 0;
    for (const name of names) {
      const at = name.lastIndexOf('@');
      if (at < 0 || this.pendingObjects.has(name)) continue;
      const entry = await this.lastMessage(b, name.slice(0, at), name.slice(0, at));
      if (entry?.header?.get(OBJECT_HEADER) === name) continue;
      this.throwIfFenced();
      // Retention may have deleted it meanwhile: then it is gone all the same.
      if (await b.objects.delete(name).then(() => true, () => false)) deleted++;
    }
    return deleted;
  }

  /** Closes the connection (a query's storage lives as long as the process; tests and tools close it). */
  async close(): Promise<void> {
    await this.sweep;
    if (this.buckets === null) return;
    const b = await this.buckets.catch(() => null);
    this.buckets = null;
    await b?.handle.nc.close();
  }

  // ---- LeaseStore: what the lease (lease.ts) needs from the bucket ----

  async readLease(): Promise<StoredLease | null> {
    const msg = await this.lastMessage(await this.open(), LEASE_KEY, 'lease');
    if (msg === null) return null;
    return { revision: msg.seq, record: JSON.parse(Buffer.from(msg.data).toString('utf8')) as LeaseRecord };
  }

  async takeLease(record: LeaseRecord, expectedRevision: number): Promise<boolean> {
    const b = await this.open();
    return this.serialized(async () => {
      try {
        const ack = await this.retrying('take the lease', () => b.handle.js.publish(`${b.subjectPrefix}${LEASE_KEY}`,
          JSON.stringify(record), { expect: { lastSubjectSequence: expectedRevision } }));
        this.fence = { epoch: record.epoch, lastSeq: ack.seq };
        this.fencedBy = null;
        return true;
      } catch (err) {
        if (isWrongLastSequence(err)) return false;
        throw err;
      }
    });
  }

  async writeLease(record: LeaseRecord): Promise<void> {
    this.throwIfFenced();
    await this.publish(await this.open(), LEASE_KEY, Buffer.from(JSON.stringify(record)), natsHeaders(),
      { createOnly: false, where: this.locate('lease') });
  }

  fenceError(): CheckpointError | null {
    return this.fencedBy;
  }

  /** After a release: this process may no longer write (a new lease must be taken first). */
  dropFence(reason: CheckpointError): void {
    this.fence = null;
    this.fencedBy = reason;
  }

  get leaseDescription(): string {
    return this.description;
  }

  // ---- internals ----

  private throwIfFenced(): void {
    if (this.fencedBy) throw this.fencedBy;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(fn, fn);
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * Publishes an entry: create-only when asked (the subject must have no message), and, while this process
   * holds a lease, only if the stream's last message is still the one this process wrote last.
   */
  private publish(b: Buckets, key: string, payload: Uint8Array, headers: MsgHdrs,
    how: { createOnly: boolean; where: string }): Promise<void> {
    const subject = `${b.subjectPrefix}${key}`;
    return this.serialized(async () => {
      this.throwIfFenced();
      const deadline = Date.now() + RETRY_FOR_MS;
      // Set once an attempt failed without an answer: it may have landed, so finding our entry there is success.
      let mayHaveLanded = false;
      for (;;) {
        const fence = this.fence;
        try {
          const ack = await b.handle.js.publish(subject, payload, {
            headers, expect: { ...(fence ? { lastSequence: fence.lastSeq } : {}), ...(how.createOnly ? { lastSubjectSequence: 0 } : {}) },
          });
          if (fence) fence.lastSeq = ack.seq;
          return;
        } catch (err) {
          if (!isWrongLastSequence(err)) {
            if (err instanceof JetStreamApiError || Date.now() > deadline) throw storeFailure(how.where, 'write', err);
            mayHaveLanded = true;
            await pause(250);
            continue;
          }
        }
        // Refused by a condition: another holder took the lease, the name is taken, or a write of ours
        // landed although its acknowledgement was lost (then the stream moved only by our own hand).
        if (fence) {
          const lease = await this.readLease();
          if (lease === null || lease.record.epoch !== fence.epoch) {
            this.fencedBy = fencedError(this.description, fence.epoch, lease?.record ?? null);
            this.fence = null;
            throw this.fencedBy;
          }
        }
        const current = await this.lastMessage(b, key, how.where);
        if (mayHaveLanded && current !== null && sameEntry(current, payload, headers)) {
          if (fence) fence.lastSeq = (await b.handle.jsm.streams.info(b.stream)).state.last_seq;
          return;
        }
        if (how.createOnly && current !== null) throw new FileExistsError(how.where);
        if (!fence) throw storeFailure(how.where, 'write', new Error('the entry changed while it was written'));
        fence.lastSeq = (await b.handle.jsm.streams.info(b.stream)).state.last_seq;
      }
    });
  }

  /** The key's newest message, read from the stream leader (never a lagging replica); null when absent or deleted. */
  private async lastMessage(b: Buckets, key: string, path: string): Promise<StoredMsg | null> {
    const msg = await this.retrying(`read ${this.locate(path)}`,
      () => b.handle.jsm.streams.getMessage(b.stream, { last_by_subj: `${b.subjectPrefix}${key}` }));
    if (msg === null) return null;
    const op = msg.header?.get(OPERATION_HEADER);
    return op === 'DEL' || op === 'PURGE' ? null : msg;
  }

  /**
   * The keys under `prefix`, from the stream's subject index: a request its leader answers. (A listing through
   * a consumer, as the key-value client's own, waits on the server the cluster placed that consumer on, which
   * may be a stopped one: with one of three servers down, a third of such listings ran into their timeout.)
   * A key whose last message is a deletion marker (its purge did not follow) is not listed.
   */
  private async keysUnder(prefix: string): Promise<string[]> {
    const b = await this.open();
    const where = this.locate(prefix);
    const subjects = await this.retrying(`list ${where}`, async () =>
      Object.keys((await b.handle.jsm.streams.info(b.stream, { subjects_filter: `${b.subjectPrefix}${prefix}.>` })).state.subjects ?? {}));
    const keys = subjects.map((subject) => subject.slice(b.subjectPrefix.length));
    const live = await Promise.all(keys.map(async (key) => (await this.lastMessage(b, key, prefix)) !== null));
    return keys.filter((_, i) => live[i]);
  }

  /**
   * Runs `attempt` until it succeeds, retrying with growing pauses what goes away by itself in a cluster
   * (no answer, a stream without leader) for {@link RETRY_FOR_MS}. An attempt unanswered for
   * {@link ATTEMPT_TIMEOUT_MS} is abandoned and counts as failed: no operation waits forever on a server
   * that went away.
   */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + RETRY_FOR_MS;
    let backoff = FIRST_BACKOFF_MS;
    for (let attempts = 1; ; attempts++) {
      try {
        return await withinTime(attempt, ATTEMPT_TIMEOUT_MS, 'the server that held the request may be down');
      } catch (err) {
        if (isWrongLastSequence(err)) throw err; // a refused condition: the caller decides
        if (err instanceof JetStreamApiError && err.code !== JetStreamApiCodes.StreamNotFound && err.status !== 503) {
          throw storeFailure(this.description, what, err);
        }
        if (Date.now() + backoff > deadline) {
          throw storeFailure(this.description, `${what} (${attempts} attempts over ${RETRY_FOR_MS / 1000} s)`, err);
        }
        await pause(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private open(): Promise<Buckets> {
    this.buckets ??= this.connect();
    this.buckets.catch(() => { this.buckets = null; });
    return this.buckets;
  }

  private async connect(): Promise<Buckets> {
    const { servers, name, auth } = this.location;
    // The checkpoint outlives any one server: keep reconnecting (to the others) instead of giving up.
    const handle = await connectJetStream(servers, 'JetStream checkpoint', { ...auth, maxReconnectAttempts: -1 });
    try {
      const bucket = `weir_${name}`;
      const replicas = replicasFor(this.location, handle.nc.info?.connect_urls);
      const stream = `KV_${bucket}`;
      const kvm = new Kvm(handle.js);
      await this.retrying('open the key-value bucket', async () => (await exists(handle, stream))
        ? kvm.open(bucket) : kvm.create(bucket, { replicas, history: 1, allow_direct: false }));
      const objm = new Objm(handle.js);
      const objects = await this.retrying('open the object store', async () => (await exists(handle, `OBJ_${bucket}`))
        ? objm.open(bucket) : objm.create(bucket, { replicas }));
      return { handle, objects, stream, subjectPrefix: `$KV.${bucket}.`, objectBucket: bucket };
    } catch (err) {
      await handle.nc.close();
      throw err;
    }
  }
}

async function exists(handle: JetStreamHandle, stream: string): Promise<boolean> {
  try {
    await handle.jsm.streams.info(stream);
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
    throw err;
  }
}

/*
 * Objects are read by requests the stream's leader answers (their description by subject, then each chunk):
 * the object store's own reader and listing run a consumer, which the cluster may place on a stopped server
 * (see keysUnder). The caller checks an object's bytes against its entry's SHA-256.
 */

/** The description of the object whose description subject is `subject`; null when absent or deleted. */
async function liveObjectInfo(b: Buckets, subject: string): Promise<ObjectInfo | null> {
  const meta = await b.handle.jsm.streams.getMessage(`OBJ_${b.objectBucket}`, { last_by_subj: subject });
  const info = meta?.json<ObjectInfo>() ?? null;
  return info === null || info.deleted ? null : info;
}

/** The names of every object the store holds (deleted ones excepted). */
async function liveObjectNames(b: Buckets): Promise<string[]> {
  const filter = `$O.${b.objectBucket}.M.>`;
  const { state } = await b.handle.jsm.streams.info(`OBJ_${b.objectBucket}`, { subjects_filter: filter });
  const infos = await Promise.all(Object.keys(state.subjects ?? {}).map((subject) => liveObjectInfo(b, subject)));
  return infos.flatMap((info) => (info === null ? [] : [info.name]));
}

/** An object's bytes; null when absent or deleted. */
async function readObject(b: Buckets, name: string): Promise<Uint8Array | null> {
  const info = await liveObjectInfo(b, `$O.${b.objectBucket}.M.${Base64UrlPaddedCodec.encode(name)}`);
  if (info === null) return null;
  const stream = `OBJ_${b.objectBucket}`;
  const chunks: Uint8Array[] = [];
  let seq = 0;
  for (let i = 0; i < info.chunks; i++) {
    // The server's message-get takes a subject to find the next message on from a sequence (next_by_subj).
    const next = { seq: seq + 1, next_by_subj: `$O.${b.objectBucket}.C.${info.nuid}` };
    const chunk = await b.handle.jsm.streams.getMessage(stream, next);
    if (chunk === null) return null;
    chunks.push(chunk.data);
    seq = chunk.seq;
  }
  return Buffer.concat(chunks);
}

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

function sameEntry(msg: StoredMsg, payload: Uint8Array, headers: MsgHdrs): boolean {
  return Buffer.from(msg.data).equals(Buffer.from(payload)) &&
    (msg.header?.get(OBJECT_HEADER) ?? '') === (headers.get(OBJECT_HEADER) ?? '') &&
    (msg.header?.get(OPERATION_HEADER) ?? '') === (headers.get(OPERATION_HEADER) ?? '');
}

function fencedError(where: string, epoch: number, holder: LeaseRecord | null): CheckpointError {
  const by = holder ? `run ${holder.runId} on ${holder.holder} (lease epoch ${holder.epoch})` : 'nobody (the lease is gone)';
  return new CheckpointError('FENCED', where, `This process held the lease of ${where} with epoch ${epoch}, but it ` +
    `was taken over by ${by}: its lease expired (a pause, a lost network, or a stop). JetStream refused its write, and ` +
    'it writes nothing more. The query goes on in the new holder; restart this one as a standby to follow it.');
}

function storeFailure(where: string, what: string, err: unknown): CheckpointError {
  return new CheckpointError('CHECKPOINT_IO', where, `JetStream checkpoint ${where}: cannot ${what}: ${errorMessage(err)}. ` +
    'Check that a majority of the NATS servers is up and reachable.', { cause: err });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
