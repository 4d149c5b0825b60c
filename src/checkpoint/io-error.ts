import { CheckpointError, errorMessage } from '../common/errors.js';

/** A failed file operation on the checkpoint, with what to do about the common causes. */
export function checkpointIoError(action: string, path: string, err: unknown): CheckpointError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'ENOSPC' ? ' The disk is full: free space and restart the query; nothing was committed.'
    : code === 'EACCES' || code === 'EPERM' ? ' Check the permissions of the checkpoint folder.'
      : '';
  return new CheckpointError(code === 'ENOSPC' ? 'DISK_FULL' : 'CHECKPOINT_IO', path,
    `Could not ${action} ${path}: ${errorMessage(err)}.${hint}`, { cause: err });
}
