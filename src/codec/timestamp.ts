import { DAY_MS, dayOf, TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from './domains.js';

/**
 * The one parser of timestamp text, shared by every source and by `cast` / `to_timestamp`, so the same
 * text is the same instant everywhere. It reads ISO-8601 in the proleptic Gregorian calendar:
 *
 *   yyyy-MM-dd[(T| )HH:mm[:ss[.fraction]][Z|±HH[[:]mm]]]
 *
 * Text without an offset is UTC (never the host's zone, so a replay elsewhere gives the same rows).
 * Digits of the fraction beyond milliseconds are dropped. Impossible dates and times (2023-02-29,
 * 24:00, :60) are not timestamps, never rolled over; neither is an instant outside years 0001-9999.
 */

const DASH = 45;
const COLON = 58;
const DOT = 46;
const PLUS = 43;
const LETTER_T = 84;
const LETTER_Z = 90;
const SPACE = 32;
const MAX_OFFSET_MINUTES = 18 * 60;

/** Epoch ms of the text, NaN when it is not a timestamp of the grammar above inside the domain. */
export function parseTimestamp(text: string): number {
  const n = text.length;
  if (n < 10 || text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  let ms = daysFromCivil(year, month, day) * DAY_MS;
  if (n === 10) return ms;
  const separator = text.charCodeAt(10);
  if ((separator !== LETTER_T && separator !== SPACE) || n < 16 || text.charCodeAt(13) !== COLON) return NaN;
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return NaN;
  ms += hour * 3_600_000 + minute * 60_000;
  let at = 16;
  if (at < n && text.charCodeAt(at) === COLON) {
    const second = digits(text, at + 1, 2);
    if (second < 0 || second > 59) return NaN;
    ms += second * 1000;
    at += 3;
    if (at < n && text.charCodeAt(at) === DOT) {
      let count = 0;
      let millis = 0;
      for (at++; at < n && isDigit(text.charCodeAt(at)); at++, count++) {
        if (count < 3) millis = millis * 10 + text.charCodeAt(at) - 48;
      }
      if (count === 0 || count > 9) return NaN;
      ms += millis * (count === 1 ? 100 : count === 2 ? 10 : 1);
    }
  }
  if (at < n) {
    const sign = text.charCodeAt(at);
    if (sign === LETTER_Z) {
      if (at + 1 !== n) return NaN;
    } else if (sign === PLUS || sign === DASH) {
      const offsetHours = digits(text, at + 1, 2);
      let end = at + 3;
      let offsetMinutes = 0;
      if (end < n) {
        if (text.charCodeAt(end) === COLON) end++;
        offsetMinutes = digits(text, end, 2);
        end += 2;
      }
      const offset = offsetHours * 60 + offsetMinutes;
      if (end !== n || offsetHours < 0 || offsetMinutes < 0 || offsetMinutes > 59 || offset > MAX_OFFSET_MINUTES) return NaN;
      ms -= (sign === PLUS ? offset : -offset) * 60_000;
    } else {
      return NaN;
    }
  }
  return ms >= TIMESTAMP_MIN_MS && ms <= TIMESTAMP_MAX_MS ? ms : NaN;
}

/** Epoch ms of the UTC day of a date or timestamp text (a timestamp's offset applies first); NaN when it is neither. */
export function parseDate(text: string): number {
  const ms = parseTimestamp(text);
  return Number.isNaN(ms) ? NaN : dayOf(ms);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The value of `count` decimal digits at `at`, or -1 if any is missing or not a digit. */
function digits(text: string, at: number, count: number): number {
  if (at + count > text.length) return -1;
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (years 1-9999), computed in 400-year eras, because
 * Date.UTC reads years below 100 as 19xx.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
