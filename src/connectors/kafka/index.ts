import { Kafka } from 'kafkajs';
import { registerSink } from '../../sinks/registry.js';
import { registerBatchReader, registerSource } from '../../sources/registry.js';
import { comparePartitions, KafkaMetadata, KafkaRangeReader, PartitionRange } from './client.js';
import { offsetAt, parseOffsetSpec } from './offsets.js';
import { KafkaSink } from './sink.js';
import { kafkaSourceSchema, KafkaReadSettings, KafkaSource } from './source.js';

export { KafkaSink } from './sink.js';
export { KafkaSource } from './source.js';

registerSource('kafka', (spec) => new KafkaSource(spec));
registerSink('kafka', (spec) => new KafkaSink(spec));

/** `read.format('kafka')`: the records between `startingOffsets` (default earliest) and `endingOffsets` (default latest). */
registerBatchReader('kafka', async (spec) => {
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
});

