import * as nodePath from 'node:path';
import { MappedStorage } from './mapped-storage.js';
import { CheckpointStorage } from './storage.js';

/** A view of one folder of a checkpoint, handed to a source or a state store as its private space. */
export class PrefixedStorage extends MappedStorage {
  readonly description: string;
  readonly localRoot?: string;
  readonly sha256?: (path: string) => Promise<string | null>;

  constructor(inner: CheckpointStorage, private readonly prefix: string) {
    super(inner);
    this.description = inner.locate(prefix);
    if (inner.localRoot !== undefined) this.localRoot = nodePath.join(inner.localRoot, ...prefix.split('/'));
    if (inner.sha256) this.sha256 = (path) => inner.sha256!(this.full(path));
  }

  protected full(path: string): string {
    return path === '' ? this.prefix : `${this.prefix}/${path}`;
  }
}
