/**
 * Reading and writing row fields by name. Rows and parsed JSON records are plain objects, so a field
 * named like an Object.prototype member (`constructor`, `toString`, `__proto__`) would read the
 * inherited member when the object lacks it, and assigning `__proto__` would replace the prototype:
 * every read by field name goes through an own-property check, every write defines a property.
 */

/** The names a plain object answers without holding them. */
function isInherited(name: string): boolean {
  return name in Object.prototype;
}

/** The value of `obj`'s own property `name`; undefined when it holds none. */
export function ownValue<T>(obj: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

/** Sets `obj[name]` as an own data property, also when `name` is `__proto__`. */
export function setField<T>(obj: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
  else obj[name] = value;
}

/**
 * JavaScript reading field `name` of the object in variable `objectVar`, for compiled code: a plain
 * property read, with an own-property check only for the few names that need one (so the common case
 * stays as fast as before).
 */
export function fieldReadCode(objectVar: string, name: string): string {
  const key = JSON.stringify(name);
  return isInherited(name) ? `(Object.hasOwn(${objectVar}, ${key}) ? ${objectVar}[${key}] : undefined)` : `${objectVar}[${key}]`;
}

/**
 * A property key for an object literal in compiled code that makes an own property: a plain key
 * (object literals with only plain keys are the fastest to build), computed for `__proto__`, which as
 * a plain key would set the prototype.
 */
export function literalKeyCode(name: string): string {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
}

/** A row of the schema's columns, all null. */
export function nullRow(schema: readonly { readonly name: string }[]): Record<string, null> {
  const row: Record<string, null> = {};
  for (const f of schema) setField(row, f.name, null);
  return row;
}
