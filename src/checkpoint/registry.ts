import { fileURLToPath } from 'node:url';
import { AnalysisError, errorMessage } from '../common/errors.js';
import { unknownNameError } from '../common/nearest-name.js';
import { FileSystemStorage } from './fs-storage.js';
import { CheckpointStorage } from './storage.js';

/**
 * Opens the checkpoint at a `checkpointLocation` of the factory's URL scheme, e.g. `s3://bucket/queries/q1`.
 * A location that lists several hosts (`nats://a:4222,b:4222/q1`, which URL cannot parse) reaches the
 * factory with the first host in `location` and the whole text in `raw`.
 */
export type CheckpointStorageFactory = (location: URL, raw: string) => CheckpointStorage;

/** `scheme://h1:p1,h2:p2/rest` → `scheme://h1:p1/rest`: a parsable URL naming the first host. */
function firstHostOnly(location: string): string {
  return location.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^,/?#]*)(?:,[^/?#]*)?/, '$1$2');
}

/** `<scheme>://…`; a plain path (also `C:\…`) has none and is a local folder. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

const factories = new Map<string, CheckpointStorageFactory>([
  ['file', (url) => new FileSystemStorage(fileURLToPath(url))],
]);

/** Makes `checkpointLocation` values `<scheme>://…` open their checkpoint with `factory`. */
export function registerCheckpointStorage(scheme: string, factory: CheckpointStorageFactory): void {
  const name = scheme.toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(name)) {
    throw new AnalysisError(`Checkpoint storage scheme '${scheme}' is not a URL scheme: use letters, digits, '+', '-' ` +
      "or '.', starting with a letter (e.g. 's3').", 'INVALID_SCHEME');
  }
  if (factories.has(name)) {
    throw new AnalysisError(`A checkpoint storage for scheme '${name}' is already registered: register yours under ` +
      'another scheme.', 'DUPLICATE_SCHEME');
  }
  factories.set(name, factory);
}

/** The storage of a `checkpointLocation`: a local folder, or a URL whose scheme has a registered storage. */
export function openCheckpointStorage(location: string): CheckpointStorage {
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FileSystemStorage(location);
  const factory = factories.get(scheme);
  if (!factory) {
    throw unknownNameError({ what: 'checkpoint storage scheme', given: scheme, where: `in checkpointLocation '${location}'`,
      known: factories.keys(), code: 'UNKNOWN_SCHEME',
      advice: 'Register one with Weir.registerCheckpointStorage(scheme, factory), or give a local folder.' });
  }
  let url: URL;
  try {
    url = new URL(firstHostOnly(location));
  } catch (err) {
    throw new AnalysisError(`checkpointLocation '${location}' is not a valid URL: ${errorMessage(err)}.`, 'INVALID_OPTION');
  }
  try {
    return factory(url, location);
  } catch (err) {
    if (err instanceof AnalysisError) throw err;
    throw new AnalysisError(`The ${scheme} checkpoint storage cannot open checkpointLocation '${location}': ` +
      `${errorMessage(err)}.`, 'INVALID_OPTION');
  }
}
