import { registerSource } from '../../sources/registry.js';
import { HttpSource } from './source.js';

export { HttpSource } from './source.js';

registerSource('http', (spec) => new HttpSource(spec));
