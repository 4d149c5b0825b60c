import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from '../../src/codec/domains.js';
import { parseDate, parseTimestamp } from '../../src/codec/timestamp.js';
import { mulberry32 } from '../connectors/harness.js';

test('the accepted forms: date, T or space, optional seconds and fraction, Z or an offset; no offset is UTC', () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5);
  const cases: [string, number][] = [
    ['2024-01-02', Date.UTC(2024, 0, 2)],
    ['2024-01-02T03:04', Date.UTC(2024, 0, 2, 3, 4)],
    ['2024-01-02 03:04:05', t],
    ['2024-01-02T03:04:05Z', t],
    ['2024-01-02T03:04:05.5', t + 500],
    ['2024-01-02T03:04:05.25Z', t + 250],
    ['2024-01-02T03:04:05.123456789Z', t + 123],
    ['2024-01-02T03:04:05+01:00', t - 3_600_000],
    ['2024-01-02T03:04:05-0130', t + 5_400_000],
    ['2024-01-02T03:04:05+18', t - 18 * 3_600_000],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29', Date.UTC(2000, 1, 29)],
  ];
  for (const [text, ms] of cases) assert.equal(parseTimestamp(text), ms, text);
});

test('impossible dates and times are not timestamps, never rolled over', () => {
  for (const text of ['2023-02-29', '1900-02-29', '2024-02-30', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00',
    '2024-01-02T24:00', '2024-01-02T23:60', '2024-01-02T23:59:60', '2024-01-02T03:04:05+19:00', '2024-01-02T03:04:05+01:60',
    '2024-01-02T03:04:05.', '2024-01-02T03:04:05.1234567890', '2024-1-2', '2024-01-02T3:04', '2024-01-02Z', 'yesterday',
    '', '2024-01-02T03:04:05ZZ', '2024-01-02T03:04:05 ', ' 2024-01-02', '2024-01-02T03:04:05+01:00:00']) {
    assert.ok(Number.isNaN(parseTimestamp(text)), `${JSON.stringify(text)} read as ${parseTimestamp(text)}`);
  }
});

test('the domain is years 0001-9999, checked on the instant after the offset', () => {
  assert.equal(parseTimestamp('0001-01-01T00:00:00Z'), TIMESTAMP_MIN_MS);
  assert.equal(parseTimestamp('9999-12-31T23:59:59.999Z'), TIMESTAMP_MAX_MS);
  assert.equal(parseTimestamp('0001-01-01T00:00:00-01:00'), TIMESTAMP_MIN_MS + 3_600_000);
  for (const text of ['0000-12-31T23:59:59Z', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59.999-00:01', '10000-01-01T00:00:00Z',
    '+10000-01-01T00:00:00Z', '-0001-01-01']) {
    assert.ok(Number.isNaN(parseTimestamp(text)), text);
  }
  // Years below 100 are those years, not 19xx.
  assert.equal(parseTimestamp('0050-06-15T12:00:00Z'), new Date('0050-06-15T12:00:00Z').getTime());
  assert.equal(parseDate('0099-03-01T23:00:00-02:00'), Date.parse('0099-03-02T00:00:00Z'));
});

test('any instant of the domain round-trips through its ISO text, with or without an offset (randomized)', () => {
  const seed = Number(process.env['WEIR_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (set WEIR_TEST_SEED to repeat)`);
  const random = mulberry32(seed);
  for (let i = 0; i < 20_000; i++) {
    const ms = TIMESTAMP_MIN_MS + Math.floor(random() * (TIMESTAMP_MAX_MS - TIMESTAMP_MIN_MS + 1));
    const iso = new Date(ms).toISOString();
    assert.equal(parseTimestamp(iso), ms, `seed ${seed}: ${iso}`);
    assert.equal(parseTimestamp(iso.slice(0, -1).replace('T', ' ')), ms, `seed ${seed}: ${iso} without Z`);
    assert.equal(parseDate(iso.slice(0, 10)), ms - (((ms % 86_400_000) + 86_400_000) % 86_400_000), `seed ${seed}: ${iso} date`);
    const offsetMinutes = Math.floor(random() * 2 * 18 * 60) - 18 * 60;
    const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
    const abs = Math.abs(offsetMinutes);
    const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    const shifted = ms + offsetMinutes * 60_000;
    if (shifted >= TIMESTAMP_MIN_MS && shifted <= TIMESTAMP_MAX_MS) assert.equal(parseTimestamp(`${local}${zone}`), ms, `seed ${seed}: ${local}${zone}`);
  }
});
