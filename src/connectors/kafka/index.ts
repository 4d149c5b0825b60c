import { Kafka } from 'kafkajs';
import { Row, Schema } from '../../common/schema.js';
import { registerSink } from '../../sinks/registry.js';
import { registerBatchReader, registerSource } from '../../sources/registry.js';
import { SourceSpec } from '../../sources/source.js';
import { comparePartitions, KafkaMetadata, KafkaRangeReader, PartitionRange } from './client.js';
import { offsetAt, parseOffsetSpec } from './offsets.js';
import { KafkaSink } from './sink.js';
import { kafkaSourceSchema, KafkaReadSettings, KafkaSource } from './source.js';

export { KafkaSink } from './sink.js';
export { KafkaSource } from './source.js';

/** The Kafka client properties weir passes on (Spark's `kafka.` prefix); others are refused, not ignored. */
const CLIENT_OPTIONS = [
  'kafka.bootstrap.servers', 'kafka.client.id', 'kafka.security.protocol', 'kafka.sasl.mechanism', 'kafka.sasl.username',
  'kafka.sasl.password', 'kafka.request.timeout.ms', 'kafka.retries',
];
const READ_OPTIONS = [
  ...CLIENT_OPTIONS, 'subscribe', 'subscribePattern', 'assign', 'startingOffsets', 'failOnDataLoss', 'includeHeaders',
  'groupIdPrefix', 'kafkaConsumer.pollTimeoutMs',
];
const SOURCE_OPTIONS = [...READ_OPTIONS, 'maxOffsetsPerTrigger', 'minOffsetsPerTrigger', 'maxTriggerDelay', 'kafka.group.id'];
const SINK_OPTIONS = [...CLIENT_OPTIONS, 'topic', 'kafkaConsumer.pollTimeoutMs'];

registerSource('kafka', (spec) => new KafkaSource(spec), { options: SOURCE_OPTIONS });
registerSink('kafka', (spec) => new KafkaSink(spec), { options: SINK_OPTIONS });

/** `read.format('kafka')`: the records between `startingOffsets` (default earliest) and `endingOffsets` (default latest). */
registerBatchReader('kafka', readKafka, { options: [...READ_OPTIONS, 'endingOffsets'] });

async function readKafka(spec: SourceSpec): Promise<{ schema: Schema; rows: Row[] }> {
  const settings = new KafkaReadSettings(spec.options);
  const starting = parseOffsetSpec('startingOffsets', spec.options.string('startingOffsets', 'earliest'));
  const ending = parseOffsetSpec('endingOffsets', spec.options.string('endingOffsets', 'latest'));
  const kafka = new Kafka(settings.config);
  const metadata = new KafkaMetadata(kafka, settings.config);
  let reader: KafkaRangeReader | null = null;
  try {
    const partitions = (await settings.partitions(metadata)).sort(comparePartitions);
    const bounds = await metadata.bounds(partitions);
    const from = settings.resolve(starting, partitions, bounds);
    const to = settings.resolve(ending, partitions, bounds);
    const ranges: PartitionRange[] = partitions.map((tp) => ({ ...tp, from: offsetAt(from, tp)!, to: offsetAt(to, tp)! }))
      .filter((r) => r.to > r.from);
    const checked = settings.checkRanges(ranges, bounds, () => undefined);
    reader = new KafkaRangeReader(kafka, settings.config, [...new Set(checked.map((r) => r.topic))].sort(),
      { name: settings.groupIdPrefix, exact: false }, settings.pollTimeoutMs);
    return { schema: kafkaSourceSchema(settings.includeHeaders), rows: settings.toRows(await reader.read(checked)) };
  } finally {
    await reader?.close();
    await metadata.close();
  }
}

