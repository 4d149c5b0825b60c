/** The baselines' file reading: what a Node engineer writes to stream a JSON-lines file line by line. */
import { createReadStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** Streams `file` in 1 MB chunks and calls `take` with every non-empty line. */
export async function eachLineOf(file: string, take: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const text = carry + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (nl > start) take(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  carry += decoder.end();
  if (carry.trim().length > 0) take(carry);
}

/**
 * The baselines' batch loop: a batch per file, every line of it to `take`, then the rows `endBatch`
 * emits appended to `outFile` as JSON lines. Returns the rows written.
 */
export async function handBatchesOverFiles<R>(files: readonly string[], take: (line: string) => void,
  endBatch: (emit: (row: R) => void) => void, outFile: string): Promise<number> {
  let outputRows = 0;
  for (const file of files) {
    await eachLineOf(file, take);
    const lines: string[] = [];
    endBatch((row) => { lines.push(JSON.stringify(row)); });
    outputRows += lines.length;
    if (lines.length > 0) await appendFile(outFile, `${lines.join('\n')}\n`);
  }
  return outputRows;
}
