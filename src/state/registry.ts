import { AnalysisError } from '../common/errors.js';
import { unknownNameError } from '../common/nearest-name.js';
import { lmdbStateStoreProvider } from './lmdb-provider.js';
import { inMemoryStateProvider } from './memory-provider.js';
import { StateStoreProvider } from './state-store.js';

const providers = new Map<string, StateStoreProvider>(
  [inMemoryStateProvider, lmdbStateStoreProvider].map((provider) => [provider.name, provider]));

/** Makes `option('stateStoreProvider', provider.name)` choose `provider`. */
export function registerStateStoreProvider(provider: StateStoreProvider): void {
  if (provider.name === '') throw new AnalysisError('A state store provider needs a non-empty name.', 'INVALID_NAME');
  if (providers.has(provider.name)) {
    throw new AnalysisError(`A state store provider named '${provider.name}' is already registered: give yours another name.`,
      'DUPLICATE_NAME');
  }
  providers.set(provider.name, provider);
}

export function stateStoreProviderNamed(name: string): StateStoreProvider {
  const provider = providers.get(name);
  if (!provider) {
    throw unknownNameError({ what: 'state store provider', given: name, known: providers.keys(), code: 'UNKNOWN_STATE_STORE',
      advice: 'Register yours with Weir.registerStateStoreProvider(provider), or pass it to writeStream.stateStore(provider).' });
  }
  return provider;
}
