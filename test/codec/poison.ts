/** Values seen in the wild that are outside their column's domain, with what the message must say. */
export const POISON: readonly [schema: string, json: string, reason: RegExp][] = [
  ['ts TIMESTAMP', '1e17', /field 'ts' is 1e17, not a timestamp .*years 0001-9999/],
  ['ts TIMESTAMP', '"10000-01-01T00:00:00Z"', /field 'ts' is "10000-01-01T00:00:00Z", not a timestamp/],
  ['ts TIMESTAMP', '"0000-12-31T23:59:59Z"', /field 'ts' is "0000-12-31T23:59:59Z", not a timestamp/],
  ['ts TIMESTAMP', '-62135596800001', /field 'ts' is -62135596800001, not a timestamp/],
  ['ts TIMESTAMP', '253402300800000', /field 'ts' is 253402300800000, not a timestamp/],
  ['ts TIMESTAMP', '"2023-02-29"', /field 'ts' is "2023-02-29", not a timestamp/],
  ['ts TIMESTAMP', '"2023-02-29T10:00:00Z"', /not a timestamp/],
  ['d DATE', '"2023-02-29"', /field 'd' is "2023-02-29", not a date/],
  ['d DATE', '1e17', /field 'd' is 1e17, not a date/],
  ['l LONG', '12345678901234567890', /field 'l' is 12345678901234567890, not a long .*declare the column STRING/],
  ['l LONG', '9007199254740992', /field 'l' is 9007199254740992, not a long/],
  ['i INT', '2147483648', /field 'i' is 2147483648, not an integer \(a whole number from -2147483648 to 2147483647\)/],
  ['i INT', '-2147483649', /field 'i' is -2147483649, not an integer/],
  ['x DOUBLE', '1e400', /field 'x' is 1e400, not a double/],
  ['s STRING NOT NULL', 'null', /field 's' is null but the schema says NOT NULL/],
];
