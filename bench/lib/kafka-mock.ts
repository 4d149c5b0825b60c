/** librdkafka's mock Kafka cluster in a child process (scripts/kafka-mock.py), for the Kafka tests and benchmarks. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface KafkaMock {
  /** Its bootstrap servers, comma-separated. */
  readonly brokers: string;
  stop(): void;
}

/** Starts a cluster of its own; Debian's python3 with python3-confluent-kafka runs it (WEIR_TEST_KAFKA_PYTHON overrides). */
export async function startKafkaMock(): Promise<KafkaMock> {
  const python = process.env['WEIR_TEST_KAFKA_PYTHON'] ?? '/usr/bin/python3';
  const script = fileURLToPath(new URL('../../../scripts/kafka-mock.py', import.meta.url));
  const child = spawn(python, [script, '--until-stdin-closes'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const brokers = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the Kafka mock cluster exited with ${code} before it started: ${stderr.trim()} ` +
      '(it needs Debian\'s python3-confluent-kafka: bash scripts/services.sh start installs it)')));
  });
  return { brokers, stop: () => { child.stdin.end(); child.kill('SIGTERM'); } };
}
