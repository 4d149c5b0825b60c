/** The baselines' file reading: what a Node engineer writes to stream a JSON-lines file line by line. */
import { createReadStream } from 'node:fs';
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
