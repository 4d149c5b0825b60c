import { AnalysisError } from '../common/errors.js';
import { Source } from './source.js';

/**
 * Hands one source object to the queries that read it, one at a time: a source holds the position
 * and resources (files, sockets) of the query reading it, so another query may take it only once
 * the first one stopped it. A factory (`Weir.registerSource`) gives each query a source of its own.
 */
export function oneQueryAtATime(source: Source): () => Source {
  let inUse = false;
  return () => {
    if (inUse) {
      throw new AnalysisError(`The source object ${source.description} is read by another query (or twice in this one): ` +
        'a source object serves one query at a time. Register a factory with Weir.registerSource(name, factory) to read ' +
        'it in several.', 'SOURCE_IN_USE');
    }
    inUse = true;
    return {
      description: source.description,
      schema: source.schema,
      ...(source.acceptWhileStandby ? { acceptWhileStandby: (context) => source.acceptWhileStandby!(context) } : {}),
      open: (context) => source.open(context),
      latestOffset: (start) => source.latestOffset(start),
      getBatch: (start, end) => source.getBatch(start, end),
      commit: (end) => source.commit(end),
      ...(source.prepareForTriggerAvailableNow ? { prepareForTriggerAvailableNow: () => source.prepareForTriggerAvailableNow!() } : {}),
      ...(source.metrics ? { metrics: (end) => source.metrics!(end) } : {}),
      stop: async () => {
        try {
          await source.stop();
        } finally {
          inUse = false;
        }
      },
    };
  };
}
