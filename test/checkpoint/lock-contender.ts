/**
 * A process of the lock race test: for each line `try <checkpoint> <delayMs>` on stdin it waits the
 * delay, tries to take the checkpoint's lock and prints `won` or `refused <code>`; on `release` it lets
 * go of a lock it holds and prints `released`. `hold-and-wait <checkpoint>` takes the lock and prints `held`
 * (the test then kills the process, leaving a dead holder's lock).
 */
import { createInterface } from 'node:readline';
import { FileSystemStorage } from '../../src/checkpoint/fs-storage.js';
import { CheckpointLock } from '../../src/checkpoint/storage.js';

let held: CheckpointLock | null = null;
const say = (line: string): void => { process.stdout.write(`${line}\n`); };

for await (const line of createInterface({ input: process.stdin })) {
  const [command, checkpoint, delay] = line.split(' ');
  if (command === 'release') {
    await held?.release();
    held = null;
    say('released');
    continue;
  }
  if (command === 'hold-and-wait') {
    held = await new FileSystemStorage(checkpoint!).lock({ queryId: 'stale', runId: String(process.pid) });
    say('held');
    continue;
  }
  await new Promise<void>((resolve) => setTimeout(resolve, Number(delay)));
  try {
    held = await new FileSystemStorage(checkpoint!).lock({ queryId: 'race', runId: String(process.pid) });
    say('won');
  } catch (err) {
    say(`refused ${(err as { code?: string }).code ?? String(err)}`);
  }
}
