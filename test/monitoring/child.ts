import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** A test's child process that prints JSON lines; `waitFor` resolves with the first line that matches. */
export class JsonLinesChild {
  readonly lines: Record<string, unknown>[] = [];
  private readonly process: ChildProcess;
  private stderr = '';
  private waiters: { match(line: Record<string, unknown>): boolean; resolve(line: Record<string, unknown>): void }[] = [];

  constructor(script: URL, arg: unknown) {
    this.process = spawn(process.execPath, [fileURLToPath(script), JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.process.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const part of parts) this.add(JSON.parse(part) as Record<string, unknown>);
    });
    this.process.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
  }

  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.process.once('exit', (code) => reject(new Error(`the child exited (${code}) before printing the line: ${this.stderr}`)));
    });
  }

  /** SIGKILL, as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGKILL');
    await exited;
  }

  private add(line: Record<string, unknown>): void {
    this.lines.push(line);
    const matched = this.waiters.filter((w) => w.match(line));
    this.waiters = this.waiters.filter((w) => !w.match(line));
    for (const w of matched) w.resolve(line);
  }
}

/** Polls `check` until it returns a value other than undefined/false; fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string | (() => string), check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
