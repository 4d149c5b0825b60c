/**
 * The real servers connector tests run against, as `bash scripts/services.sh start` started them.
 * Without the variable a test fails and says how to start them; WEIR_SKIP_SERVICES=1 skips instead.
 */
export interface Service {
  /** A reason for node:test's `skip` option, or false. */
  readonly skip: string | false;
  /** The server's URL; throws (failing the test) when it was not started. */
  url(): string;
}

export function service(envVar: 'WEIR_TEST_PG_URL' | 'WEIR_TEST_NATS_URL' | 'WEIR_TEST_KAFKA_BROKERS'): Service {
  const value = process.env[envVar];
  const skipAll = process.env['WEIR_SKIP_SERVICES'] === '1';
  return {
    skip: !value && skipAll ? `${envVar} is not set and WEIR_SKIP_SERVICES=1` : false,
    url() {
      if (!value) {
        throw new Error(`${envVar} is not set: run \`bash scripts/services.sh start && eval "$(bash scripts/services.sh env)"\` ` +
          `before the tests (or set WEIR_SKIP_SERVICES=1 to skip the tests that need real servers).`);
      }
      return value;
    },
  };
}
