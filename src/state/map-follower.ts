import { errorMessage } from '../common/errors.js';
import { applyRecords, deltaDigest, discardVersionsAfter, loadPartition, readDelta, refuseOldKeyFormat, StateRecord } from './state-files.js';
import { StateFollower, StateKey, StateStore, StateStoreOptions, TakeoverResult } from './state-store.js';

/**
 * A standby's copy of a store's state in a Map, for providers whose stores hold their state in one
 * (the in-memory provider). It is loaded once, then each committed version's deltas are applied as the
 * active writes them. Per partition it remembers the SHA-256 of the delta of its version: at takeover the
 * checkpoint must still hold those very files (a checkpoint restored from a copy, say, would not).
 */
export class MapStateFollower<V> implements StateFollower<V> {
  private map = new Map<StateKey, V>();
  private formats: (number | null)[] = [];
  private digests: (string | null)[] = [];
  private current = -1;
  /** Set while the copy matches no version (a load failed half-way): the next advance reloads. */
  private broken: string | null = null;
  private usedUp = false;

  private constructor(private readonly options: StateStoreOptions<V>,
    private readonly storeOver: (map: Map<StateKey, V>, version: number) => StateStore<V>) {}

  static async start<V>(options: StateStoreOptions<V>,
    storeOver: (map: Map<StateKey, V>, version: number) => StateStore<V>): Promise<MapStateFollower<V>> {
    const follower = new MapStateFollower(options, storeOver);
    await follower.reload(options.version);
    return follower;
  }

  get version(): number { return this.current; }
  get size(): number { return this.map.size; }

  async advanceTo(target: number): Promise<void> {
    if (this.usedUp || (target <= this.current && this.broken === null)) return;
    if (this.broken === null) {
      try {
        await this.applyDeltas(target);
        return;
      } catch {
        // Retention deleted a delta this copy had not applied yet: load the target version whole.
      }
    }
    await this.reload(target);
  }

  async takeOver(version: number): Promise<TakeoverResult<V>> {
    if (this.usedUp) return { store: null, reason: 'the warm copy was already taken over' };
    this.usedUp = true;
    const refused = await this.mismatch(version);
    if (refused !== null) {
      this.map = new Map();
      return { store: null, reason: refused };
    }
    const { storage, numPartitions } = this.options;
    // Now this process holds the checkpoint: files of versions after it belong to no commit (see open()).
    await discardVersionsAfter(storage, numPartitions, version);
    refuseOldKeyFormat(this.formats, this.map.size, storage, version);
    return { store: this.storeOver(this.map, version) };
  }

  /** Null when the copy is exactly `version` (after applying deltas it lacked); else why not. */
  private async mismatch(version: number): Promise<string | null> {
    if (this.broken !== null) return `the warm copy matches no version (${this.broken})`;
    if (this.current > version) {
      return `the warm copy is at version ${this.current}, ahead of the last committed batch ${version} ` +
        '(the checkpoint went back, e.g. restored from a copy)';
    }
    try {
      await this.applyDeltas(version);
    } catch (err) {
      return `the warm copy at version ${this.current} could not catch up to ${version}: ${errorMessage(err)}`;
    }
    if (version < 0) return null;
    const { storage, numPartitions } = this.options;
    const digests = await Promise.all(Array.from({ length: numPartitions }, (_, p) => deltaDigest(storage, p, version)));
    for (const [p, sha256] of digests.entries()) {
      if (sha256 !== this.digests[p]) {
        return `the checkpoint's delta of version ${version}, partition ${p} is not the file the warm copy applied ` +
          `(SHA-256 ${sha256 ?? 'none: it is missing'}, applied ${this.digests[p] ?? 'none'})`;
      }
    }
    return null;
  }

  /** Applies versions `current + 1 .. target`, each one whole: all its partitions are read before any is applied. */
  private async applyDeltas(target: number): Promise<void> {
    const { storage, numPartitions, codec } = this.options;
    for (let v = this.current + 1; v <= target; v++) {
      const deltas = await Promise.all(Array.from({ length: numPartitions }, (_, p) => readDelta(storage, p, v)));
      for (const [p, delta] of deltas.entries()) {
        applyRecords(delta.records as StateRecord[], this.map, codec.decode);
        this.formats[p] = delta.format;
        this.digests[p] = delta.sha256;
      }
      this.current = v;
    }
  }

  /** Loads `version` from scratch, as open() does (snapshot, then deltas), and notes its deltas' digests. */
  private async reload(version: number): Promise<void> {
    const { storage, numPartitions, codec } = this.options;
    this.map = new Map();
    this.broken = 'loading';
    try {
      for (let p = 0; p < numPartitions; p++) {
        this.formats[p] = await loadPartition(storage, p, version, this.map, codec.decode);
        this.digests[p] = version < 0 ? null : await deltaDigest(storage, p, version);
      }
      this.current = version;
      this.broken = null;
    } catch (err) {
      this.map = new Map();
      this.broken = `its load of version ${version} failed: ${errorMessage(err)}`;
    }
  }
}
