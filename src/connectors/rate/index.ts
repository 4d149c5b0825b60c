import { registerSource } from '../../sources/registry.js';
import { createRateSource } from './source.js';

/** The options the rate source reads. */
const RATE_SOURCE_OPTIONS = ['rowsPerSecond', 'maxRecordsPerTrigger', 'startTimestamp'];

registerSource('rate', createRateSource, { options: RATE_SOURCE_OPTIONS });
