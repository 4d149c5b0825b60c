import { registerSource } from '../../sources/registry.js';
import { createRateSource } from './source.js';

registerSource('rate', createRateSource);
