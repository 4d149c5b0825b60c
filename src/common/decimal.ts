/**
 * An exact decimal number: an unscaled integer and a scale (the value is `unscaled / 10^scale`), as
 * Spark's Decimal and Java's BigDecimal hold it. No binary floating point is involved anywhere: text
 * is read digit by digit and arithmetic is on bigints, so 0.1 + 0.2 is 0.3.
 *
 * A value in a column of type DECIMAL(p,s) always has scale s (casts and sources rescale it), so
 * two equal values of one column are equal field by field; {@link Decimal.compare} and
 * {@link Decimal.keyText} compare across scales (1.0 and 1.00 are the same number).
 */
import { javaTrim } from './spark-strings.js';

export class Decimal {
  constructor(readonly unscaled: bigint, readonly scale: number) {}

  /** The value of `n` (a whole number). */
  static ofInteger(n: number | bigint): Decimal {
    return new Decimal(BigInt(n), 0);
  }

  /**
   * Java BigDecimal's text syntax, which Spark's cast of a string to decimal reads: an optional sign,
   * digits with an optional point (`1.`, `.5`), an optional exponent (`1.5e3`), white space around it
   * ignored. Null for anything else, and for a number with more than 38 digits before the point
   * (Spark's limit, which also stops `1e999999999` from being expanded).
   */
  static parse(text: string): Decimal | null {
    const m = DECIMAL_SYNTAX.exec(javaTrim(text));
    if (!m) return null;
    const [, sign, whole = '', fraction = '', exponentText] = m;
    if (whole === '' && fraction === '') return null;
    const exponent = exponentText === undefined ? 0 : Number(exponentText);
    const digits = (whole + fraction).replace(/^0+(?=\d)/, '');
    let unscaled = BigInt(digits);
    if (unscaled === 0n) return new Decimal(0n, Math.max(0, Math.min(fraction.length - exponent, MAX_PRECISION)));
    let scale = fraction.length - exponent;
    if (digits.length - scale > MAX_PRECISION) return null;
    if (scale < 0) {
      unscaled *= pow10(-scale);
      scale = 0;
    }
    return new Decimal(sign === '-' ? -unscaled : unscaled, scale);
  }

  /** A double as Spark turns it into a decimal: by its shortest text (0.1 is 0.1, not 0.1000000000000000055…); null when not finite. */
  static ofDouble(v: number): Decimal | null {
    return Number.isFinite(v) ? Decimal.parse(String(v)) : null;
  }

  /** The number of digits of the unscaled value (0 has one). */
  get digits(): number {
    return digitCount(this.unscaled);
  }

  /** The smallest precision holding this value at its scale (Spark's type of a decimal literal is DECIMAL(this, scale)). */
  get precision(): number {
    return Math.max(this.digits, this.scale, 1);
  }

  isZero(): boolean {
    return this.unscaled === 0n;
  }

  /**
   * This value at `scale`, rounded half up (away from zero at .5, as Spark), or null when it then has
   * more than `precision` digits: Spark's changePrecision, whose overflow is null outside ANSI mode.
   */
  toPrecision(precision: number, scale: number): Decimal | null {
    const unscaled = rescale(this.unscaled, scale - this.scale);
    return fits(unscaled, precision) ? (unscaled === this.unscaled && scale === this.scale ? this : new Decimal(unscaled, scale)) : null;
  }

  negate(): Decimal {
    return new Decimal(-this.unscaled, this.scale);
  }

  compare(other: Decimal): number {
    const scale = Math.max(this.scale, other.scale);
    const a = this.unscaled * pow10(scale - this.scale);
    const b = other.unscaled * pow10(scale - other.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** The nearest double (the text's correctly rounded reading). */
  toNumber(): number {
    return Number(this.toString()) + 0;
  }

  /** The whole part (truncated toward zero, as Spark's cast to an integral type). */
  truncated(): bigint {
    return this.unscaled / pow10(this.scale);
  }

  /** Java BigDecimal's toString, which Spark's cast to string uses: plain, or `1.5E-7` below 10^-6. */
  toString(): string {
    const [sign, digits] = this.signAndDigits();
    const adjusted = digits.length - 1 - this.scale;
    if (adjusted >= -6) return plainText(sign, digits, this.scale);
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}E${adjusted}`;
  }

  /** The digits without an exponent (`0.0000001`), as Spark's show() prints a decimal. */
  toPlainString(): string {
    const [sign, digits] = this.signAndDigits();
    return plainText(sign, digits, this.scale);
  }

  /** The sign (`-` or nothing) and the digits of the unscaled value. */
  private signAndDigits(): [string, string] {
    const negative = this.unscaled < 0n;
    return [negative ? '-' : '', (negative ? -this.unscaled : this.unscaled).toString()];
  }

  /** JSON writes a decimal as its exact text (a JSON string inside nested values; sinks write top-level columns as numbers). */
  toJSON(): string {
    return this.toString();
  }

  /** The same text for equal numbers of any scale (trailing fraction zeros dropped): a state key. */
  keyText(): string {
    let { unscaled, scale } = this;
    while (scale > 0 && unscaled % 10n === 0n) {
      unscaled /= 10n;
      scale--;
    }
    return scale === this.scale ? this.toString() : new Decimal(unscaled, scale).toString();
  }
}

export const MAX_PRECISION = 38;

/** A decimal's text without an exponent, from its sign, unscaled digits and scale. */
function plainText(sign: string, digits: string, scale: number): string {
  if (scale === 0) return sign + digits;
  const point = digits.length - scale;
  return point > 0 ? `${sign}${digits.slice(0, point)}.${digits.slice(point)}` : `${sign}0.${'0'.repeat(-point)}${digits}`;
}

const DECIMAL_SYNTAX = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,9}))?$/;

const POWERS: bigint[] = [1n];
export function pow10(n: number): bigint {
  while (POWERS.length <= Math.min(n, 160)) POWERS.push(POWERS[POWERS.length - 1]! * 10n);
  return n < POWERS.length ? POWERS[n]! : 10n ** BigInt(n);
}

function digitCount(v: bigint): number {
  return (v < 0n ? -v : v).toString().length;
}

/** True when `unscaled` has at most `precision` digits. */
export function fits(unscaled: bigint, precision: number): boolean {
  const limit = pow10(precision);
  return unscaled < limit && unscaled > -limit;
}

/** `unscaled` times 10^by; for a negative `by` divided, rounding half up (away from zero). */
export function rescale(unscaled: bigint, by: number): bigint {
  if (by >= 0) return by === 0 ? unscaled : unscaled * pow10(by);
  // More dropped digits than the value has: it rounds to zero (its first digit is below the half).
  if (-by > digitCount(unscaled)) return 0n;
  return divideHalfUp(unscaled, pow10(-by));
}

/** a / b rounded half up (away from zero); b is not 0. */
function divideHalfUp(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a % b;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  const half = b < 0n ? -b : b;
  if (twice < half) return q;
  return (a < 0n) !== (b < 0n) ? q - 1n : q + 1n;
}

/**
 * `a op b` as Spark computes it for a result of DECIMAL(precision, scale): the exact result (a product
 * first rounded to 38 significant digits, a quotient to 38 fraction digits, as Spark's Decimal does),
 * then rounded half up to `scale`; null when it needs more than `precision` digits or divides by zero.
 */
export function decimalArithmetic(op: '+' | '-' | '*' | '/' | '%', a: Decimal, b: Decimal, precision: number,
  scale: number): Decimal | null {
  let unscaled: bigint;
  let exactScale: number;
  switch (op) {
    case '+': case '-': case '%': {
      exactScale = Math.max(a.scale, b.scale);
      const x = rescale(a.unscaled, exactScale - a.scale);
      const y = rescale(b.unscaled, exactScale - b.scale);
      if (op === '%') {
        if (y === 0n) return null;
        unscaled = x % y;
      } else unscaled = op === '+' ? x + y : x - y;
      break;
    }
    case '*': {
      unscaled = a.unscaled * b.unscaled;
      exactScale = a.scale + b.scale;
      const extra = digitCount(unscaled) - MAX_PRECISION;
      if (extra > 0) {
        unscaled = rescale(unscaled, -extra);
        exactScale -= extra;
      }
      break;
    }
    case '/':
      if (b.unscaled === 0n) return null;
      exactScale = MAX_PRECISION;
      unscaled = divideHalfUp(rescale(a.unscaled, MAX_PRECISION + b.scale - a.scale), b.unscaled);
      break;
  }
  unscaled = rescale(unscaled, scale - exactScale);
  return fits(unscaled, precision) ? new Decimal(unscaled, scale) : null;
}
