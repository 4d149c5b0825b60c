import { AnalysisError } from '../../common/errors.js';

/**
 * `${NAME}` in a pipeline file is replaced by the environment variable NAME, so passwords stay out of
 * the file. The values used are remembered: `redact` puts the placeholders back into any text weir
 * prints (errors, plans, progress), so a secret never reaches a terminal or a log.
 */
export class EnvSubstitution {
  private readonly used = new Map<string, string>();

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  apply(text: string, file: string): string {
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = this.env[name];
      if (value === undefined) {
        throw new AnalysisError(`${file} uses \${${name}}, but the environment variable ${name} is not set. Set it ` +
          `before running (export ${name}=…).`, 'MISSING_ENV');
      }
      if (value !== '') this.used.set(name, value);
      return value;
    });
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a value that contains another is replaced whole.
    for (const [name, value] of [...this.used].sort((a, b) => b[1].length - a[1].length)) {
      out = out.split(value).join(`\${${name}}`);
      const encoded = encodeURIComponent(value);
      if (encoded !== value) out = out.split(encoded).join(`\${${name}}`);
    }
    return out;
  }
}
