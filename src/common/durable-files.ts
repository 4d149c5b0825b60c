/** The fsync steps every durable write in weir is made of (checkpoint files, sink part files, the ingest WAL). */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { retryOnDescriptorShortage } from './descriptor-shortage.js';

/** fs.open that waits out a shortage of file descriptors instead of failing (see descriptor-shortage.ts). */
export function openFile(path: string, flags: string): Promise<FileHandle> {
  return retryOnDescriptorShortage(path, () => fs.open(path, flags));
}

/** Makes the folder's entries (a file created or renamed in it) survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a new file and fsyncs it; `flag` 'wx' fails when the name exists. */
export async function writeFileSynced(path: string, data: Buffer, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const handle = await openFile(path, flag);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
