/** The text forms Spark gives values when it casts them to string or prints them. */

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** Spark's text of a timestamp (UTC): `yyyy-MM-dd HH:mm:ss`, plus the fraction of a second when it has one. */
export function sparkTimestampText(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

/** Java's Double.toString, which Spark's cast to string uses: `1.0`, `0.5`, `1.0E7`, `1.5E-4`. */
export function sparkDoubleText(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  const abs = Math.abs(v);
  if (abs === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  if (abs >= 1e-3 && abs < 1e7) return Number.isInteger(v) ? `${v}.0` : String(v);
  const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}
