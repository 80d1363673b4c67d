import { errorCode } from '@flox-k8s/core';
import { CliUsageError, EXIT, UNEXPECTED_CODE } from './errors.ts';

/** `--output`: text for people (default) or one JSON document for scripts. */
export type OutputMode = 'human' | 'json';

/** What a command hands back to be printed on stdout. */
export interface CommandOutput {
  /** The document `--output json` prints. */
  json: unknown;
  /** The text a person reads. */
  human: string;
  /** Printed as is instead of `JSON.stringify(json)` (a document the command already serialised, e.g. an SBOM). */
  jsonText?: string;
  /** The command ran but its outcome is a failure (doctor's problems): stdout still gets the output; this goes to stderr, exit 1. */
  failure?: Error;
}

/**
 * Keeps secrets off the terminal: URL user info (`https://user:password@…`) and every
 * secret value the CLI read (cache credentials, tokens) are masked in everything printed.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  add(secret: string): void {
    if (secret.length >= 4) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@"']+@/gi, '$1***@');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}

export interface Writer {
  write(text: string): unknown;
}

/** Prints results and errors in the chosen output mode, redacted. */
export class Printer {
  readonly #stdout: Writer;
  readonly #stderr: Writer;
  readonly #redactor: Redactor;
  mode: OutputMode = 'human';

  constructor(stdout: Writer, stderr: Writer, redactor: Redactor) {
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#redactor = redactor;
  }

  result(output: CommandOutput): void {
    const text = this.mode === 'json' ? (output.jsonText ?? `${JSON.stringify(output.json, null, 2)}\n`) : output.human;
    if (text !== '') this.#stdout.write(this.#redactor.redact(text.endsWith('\n') ? text : `${text}\n`));
  }

  /** Prints a failure (on stderr) and returns the exit code it means. */
  error(error: unknown, command: string | undefined): number {
    const code = errorCode(error) ?? UNEXPECTED_CODE;
    const message = error instanceof Error ? error.message : String(error);
    const usage = error instanceof CliUsageError;
    if (this.mode === 'json') {
      this.#stderr.write(this.#redactor.redact(`${JSON.stringify({ error: { code, message } })}\n`));
    } else {
      const hint = usage ? `\nsee: flox-k8s ${command === undefined ? '' : `${command} `}--help` : '';
      this.#stderr.write(this.#redactor.redact(`flox-k8s: error ${code}: ${message}${hint}\n`));
    }
    return usage ? EXIT.usage : EXIT.failure;
  }

  /** A line for people on stderr (progress, notes); nothing in JSON mode. */
  note(line: string): void {
    if (this.mode === 'human') this.#stderr.write(this.#redactor.redact(`${line}\n`));
  }
}
