import type { Command } from 'commander';
import type { z } from 'zod';
import type { CliEnv } from './env.ts';
import type { CommandOutput, OutputMode, Printer, Redactor } from './output.ts';

/** What a command gets besides its flags. */
export interface CliContext {
  env: CliEnv;
  mode: OutputMode;
  printer: Printer;
  redactor: Redactor;
  /** stderr, for progress bars. */
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal (a progress bar) or not (plain progress lines). */
  stderrIsTTY: boolean;
  /** Aborted on SIGINT/SIGTERM: long work stops and cleans up. */
  signal: AbortSignal;
  /** stdin, for a lockfile given as `-`. */
  stdin(): AsyncIterable<Buffer>;
}

/**
 * One `flox-k8s <name>` command. Adding a command is one file exporting this and one line in
 * `commands/index.ts`: commander declares the arguments and options (and so the help), zod
 * validates what commander parsed, `run` returns what to print.
 */
export interface CliCommand<Schema extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  /** Help text printed after the options: examples, what the output holds. */
  help?: string;
  /** Positional arguments in order; their names become keys of the validated flags. */
  arguments?: ReadonlyArray<{ name: string; description: string; required: boolean }>;
  /** Declares the command's options on commander's command (`--output` is added for every command). */
  options(cmd: Command): void;
  /** Validates `{ ...options, ...arguments }` as commander parsed them (strings and string arrays). */
  schema(env: CliEnv): Schema;
  run(flags: z.output<Schema>, ctx: CliContext): Promise<CommandOutput>;
}

/** Keeps each command's flag type tied to its schema. */
export function defineCommand<Schema extends z.ZodType>(command: CliCommand<Schema>): CliCommand<Schema> {
  return command;
}
