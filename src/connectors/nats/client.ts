import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { ConnectorError, errorMessage, WeirError } from '../../common/errors.js';
import { Options } from '../../common/options.js';

/** The NATS server a connector uses when option `url` is not given (the NATS default). */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** A connection with its JetStream client and manager; shared by the nats source and sink. */
export interface JetStreamHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** Option `url`: one server or a comma-separated list. */
export function natsServers(options: Options): string[] {
  return options.string('url', DEFAULT_NATS_URL).split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `options`: credentials and reconnect settings beyond the servers (the checkpoint storage's). */
export async function connectJetStream(servers: readonly string[], owner: string,
  options: Partial<ConnectionOptions> = {}): Promise<JetStreamHandle> {
  let nc: NatsConnection;
  try {
    // An entry may itself list several servers ('a:4222,b:4222'), as option 'url' and the checkpoint location do.
    const list = servers.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    nc = await connect({ ...options, servers: list, name: `weir ${owner}` });
  } catch (err) {
    throw new ConnectorError('NATS_CONNECTION',
      `The ${owner} cannot connect to NATS at ${servers.join(', ')}: ${errorMessage(err)}. ` +
      `Check option 'url' and that nats-server is running.`, { cause: err });
  }
  try {
    return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
  } catch (err) {
    await nc.close();
    throw new ConnectorError('NATS_CONNECTION',
      `The ${owner} cannot use JetStream on ${servers.join(', ')}: ${errorMessage(err)}. Start nats-server with -js.`,
      { cause: err });
  }
}

/** How long a request keeps being retried while the cluster elects a new leader or a server comes back. */
export const NATS_RETRY_MS = 60_000;

/**
 * A failure that goes away by itself in a cluster: no answer (timeout, no responders, a reconnect) or
 * JetStream's 503 while a stream has no leader. A refusal (wrong sequence, no such stream) is not.
 */
/** JetStream's error code for a stream whose replicas have no leader yet (just created, or after a server loss). */
const STREAM_OFFLINE = 10118;
/** ...and for a consumer the cluster placed on a server that is down: a new one is placed again. */
const CONSUMER_OFFLINE = 10119;

export function isTransientNatsFailure(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status === 503 || err.code === STREAM_OFFLINE || err.code === CONSUMER_OFFLINE;
  return !(err instanceof WeirError);
}

/**
 * How long "no such stream" is taken for a passing state: while a new metadata leader catches up after a
 * server loss, or just after a stream was created, the cluster may say so for a moment. A stream that
 * truly does not exist is reported after this delay.
 */
const UNKNOWN_STREAM_GRACE_MS = 10_000;

/** Runs `attempt` again on transient failures until it succeeds or {@link NATS_RETRY_MS} passed. */
export async function retryTransient<T>(attempt: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const elapsed = Date.now() - started;
      const unknownStream = err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
      if (unknownStream ? elapsed > UNKNOWN_STREAM_GRACE_MS : !isTransientNatsFailure(err) || elapsed > NATS_RETRY_MS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The stream's info, or a clear error when there is no such stream. */
export async function streamInfo(handle: JetStreamHandle, stream: string, owner: string): Promise<StreamInfo> {
  try {
    return await retryTransient(() => handle.jsm.streams.info(stream));
  } catch (err) {
    throw natsFailure(err, `reading stream '${stream}'`, owner);
  }
}

/** A NATS failure as a ConnectorError naming what was being done. */
export function natsFailure(err: unknown, doing: string, owner: string): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
    return new ConnectorError('NATS_NO_STREAM',
      `The ${owner} failed ${doing}: JetStream has no such stream. Create it (e.g. \`nats stream add\`) or check option 'stream'.`,
      { cause: err });
  }
  return new ConnectorError('NATS_REQUEST', `The ${owner} failed ${doing}: ${errorMessage(err)}.`, { cause: err });
}
