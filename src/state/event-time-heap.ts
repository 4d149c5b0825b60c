/**
 * Keys by event time, smallest first: what the lmdb store's versions waiting in memory have instead of
 * the working copy's index, so eviction takes the due keys without visiting the others. Entries are
 * never updated in place: a key that changes time is pushed again, and the caller skips an entry whose
 * time is no longer the key's (lazy deletion).
 */
import { StateKey } from './state-store.js';

export class EventTimeHeap {
  private readonly times: number[] = [];
  private readonly keys: StateKey[] = [];

  get size(): number { return this.times.length; }

  push(time: number, key: StateKey): void {
    let i = this.times.length;
    this.times.push(time);
    this.keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= time) break;
      this.move(parent, i);
      i = parent;
    }
    this.times[i] = time;
    this.keys[i] = key;
  }

  /** Removes and yields every entry at or below `time`, smallest first. */
  *popAtOrBelow(time: number): Generator<[number, StateKey]> {
    while (this.times.length > 0 && this.times[0]! <= time) {
      const top: [number, StateKey] = [this.times[0]!, this.keys[0]!];
      const lastTime = this.times.pop()!;
      const lastKey = this.keys.pop()!;
      if (this.times.length > 0) this.siftDown(lastTime, lastKey);
      yield top;
    }
  }

  clear(): void {
    this.times.length = 0;
    this.keys.length = 0;
  }

  private siftDown(time: number, key: StateKey): void {
    const n = this.times.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.times[child + 1]! < this.times[child]!) child++;
      if (this.times[child]! >= time) break;
      this.move(child, i);
      i = child;
    }
    this.times[i] = time;
    this.keys[i] = key;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.keys[to] = this.keys[from]!;
  }
}
