/**
 * State values may hold decimals (a group's DECIMAL key, a decimal sum). MessagePack has no decimal, so
 * one is written as extension type 1 holding its exact text (`12.50`), read back with the same scale.
 * Registering it with msgpackr applies to every packer of the process; importing this module is enough.
 */
import { addExtension } from 'msgpackr';
import { Decimal } from '../common/decimal.js';
import { asBuffer } from './binary-keys.js';

const DECIMAL_EXTENSION_TYPE = 1;

addExtension({
  Class: Decimal,
  type: DECIMAL_EXTENSION_TYPE,
  pack: (d: Decimal) => Buffer.from(d.toString(), 'utf8'),
  unpack: (bytes: Uint8Array) => {
    const text = asBuffer(bytes).toString('utf8');
    const d = Decimal.parse(text);
    if (d === null) throw new Error(`A decimal in the state is not a number: '${text}'.`);
    return d;
  },
});
