import { readFileSync } from 'node:fs';
import { credsAuthenticator } from '@nats-io/transport-node';
import type { ConnectionOptions } from '@nats-io/transport-node';
import { AnalysisError, errorMessage } from '../../common/errors.js';

/**
 * A JetStream checkpoint location: `nats://[user:pass@]host:port[,host:port…]/<name>[?replicas=3&creds=<file>]`.
 * `<name>` names the key-value bucket and the object store (`weir_<name>` both) that hold the checkpoint.
 */
export interface JetStreamLocation {
  readonly servers: readonly string[];
  readonly name: string;
  /** The replicas to create the buckets with; undefined: 3 when the cluster has at least three servers, else 1. */
  readonly replicas: number | undefined;
  readonly auth: Partial<ConnectionOptions>;
  /** The location without credentials, for messages. */
  readonly display: string;
}

const KNOWN_PARAMETERS = ['replicas', 'creds', 'token'];

/** The replicas to create a location's streams with: its `replicas`, else 3 on a cluster of three servers or more, else 1. */
export function replicasFor(location: JetStreamLocation, connectUrls: readonly string[] | undefined): number {
  return location.replicas ?? ((connectUrls?.length ?? 1) >= 3 ? 3 : 1);
}

/** `what` names the option in messages. */
export function parseJetStreamLocation(raw: string, what = 'checkpointLocation'): JetStreamLocation {
  const m = /^nats:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(raw);
  const fail = (why: string): never => {
    throw new AnalysisError(`${what} '${redact(raw)}' ${why}. Write it as ` +
      "'nats://host:port[,host:port…]/<name>' with a name of letters, digits, '-' and '_' " +
      "(e.g. 'nats://127.0.0.1:4222,127.0.0.1:4223,127.0.0.1:4224/orders').", 'INVALID_OPTION');
  };
  if (!m) return fail('is not a JetStream location');
  const [, userInfo, hostList, name, query] = m;
  if (!name || !/^[A-Za-z0-9_-]+$/.test(name)) fail(`has the name '${name ?? ''}'`);
  const servers = hostList!.split(',').map((h) => h.trim()).filter((h) => h !== '').map((h) => `nats://${h}`);
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys()) {
    if (!KNOWN_PARAMETERS.includes(key)) fail(`has the unknown parameter '${key}' (known: ${KNOWN_PARAMETERS.join(', ')})`);
  }
  let replicas: number | undefined;
  const replicasText = params.get('replicas');
  if (replicasText !== null) {
    replicas = Number(replicasText);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) fail(`has replicas=${replicasText}; give 1 to 5`);
  }
  const auth: { user?: string; pass?: string; token?: string; authenticator?: ConnectionOptions['authenticator'] } = {};
  if (userInfo) {
    const [user, pass] = userInfo.split(':').map(decodeURIComponent);
    if (pass === undefined) auth.token = user;
    else Object.assign(auth, { user, pass });
  }
  const token = params.get('token');
  if (token !== null) auth.token = token;
  const creds = params.get('creds');
  if (creds !== null) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(creds);
    } catch (err) {
      return fail(`names the credentials file '${creds}', which cannot be read (${errorMessage(err)})`);
    }
    auth.authenticator = credsAuthenticator(new Uint8Array(bytes));
  }
  return { servers, name: name!, replicas, auth, display: redact(raw).replace(/\?.*$/, '') };
}

function redact(raw: string): string {
  return raw.replace(/^(nats:\/\/)[^@/?#]*@/i, '$1***@').replace(/([?&]token=)[^&#]*/i, '$1***');
}
