import { Command, CommanderError } from 'commander';
import type { z } from 'zod';
import type { CliCommand, CliContext } from './command.ts';
import { commands as allCommands } from './commands/index.ts';
import type { CliEnv } from './env.ts';
import { CliUsageError, EXIT } from './errors.ts';
import { Printer, Redactor, type OutputMode, type Writer } from './output.ts';
import { CLI_VERSION } from './version.ts';

/** Where the CLI reads and writes: the process's streams, or a test's. */
export interface CliIo {
  env: CliEnv;
  stdout: Writer;
  stderr: NodeJS.WritableStream;
  stderrIsTTY: boolean;
  stdin(): AsyncIterable<Buffer>;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

const FOOTER = `
Exit codes: 0 ok, 1 the command failed (or doctor found problems), 2 usage error.
--output json prints one JSON document on stdout; errors go to stderr as
{"error":{"code":"FLOXK8S_…","message":"…"}}. Human errors show the same code.`;

// Before commander has parsed anything (a usage error), the output mode comes from argv.
function modeFromArgv(argv: readonly string[]): OutputMode {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg === '--output=json' || arg === '-ojson') return 'json';
    if ((arg === '--output' || arg === '-o') && argv[i + 1] === 'json') return 'json';
  }
  return 'human';
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** zod issues as the command line spells them: `--trusted-key: …`, `<reference>: …`. */
function usageMessage(issues: readonly z.core.$ZodIssue[], argumentNames: ReadonlySet<string>): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const key = issue.path[0];
      const where = typeof key !== 'string' ? 'arguments' : argumentNames.has(key) ? `<${key}>` : `--${kebab(key)}`;
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Runs one `flox-k8s` invocation; resolves to its exit code (never throws, never exits). */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[] = allCommands): Promise<number> {
  const redactor = new Redactor();
  const printer = new Printer(io.stdout, io.stderr, redactor);
  printer.mode = modeFromArgv(argv);
  const context: CliContext = {
    env: io.env,
    mode: printer.mode,
    printer,
    redactor,
    stderr: io.stderr,
    stderrIsTTY: io.stderrIsTTY,
    signal: io.signal,
    stdin: io.stdin,
  };
  let exitCode: number = EXIT.ok;
  let current: string | undefined;
  const output = {
    writeOut: (text: string) => void io.stdout.write(text),
    writeErr: (text: string) => void io.stderr.write(text),
    // Usage errors are printed below, in the chosen output mode, with their code.
    outputError: () => undefined,
  };

  const program = new Command('flox-k8s')
    .description('Flox environments for imageless Kubernetes: publish, resolve, realise, SBOMs, and node checks.')
    .version(CLI_VERSION, '-V, --version')
    .configureOutput(output)
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', FOOTER);

  for (const command of commands) {
    const sub = program.command(command.name).description(command.summary).configureOutput(output).exitOverride().showSuggestionAfterError(true);
    for (const arg of command.arguments ?? []) sub.argument(arg.required ? `<${arg.name}>` : `[${arg.name}]`, arg.description);
    command.options(sub);
    sub.option('-o, --output <format>', 'human (default) or json');
    sub.addHelpText('after', `${command.help ?? ''}\n${FOOTER}`);
    const argumentNames = new Set((command.arguments ?? []).map((a) => a.name));
    sub.action(async () => {
      current = command.name;
      const named: Record<string, unknown> = {};
      (command.arguments ?? []).forEach((arg, i) => {
        if (sub.processedArgs[i] !== undefined) named[arg.name] = sub.processedArgs[i];
      });
      const parsed = command.schema(io.env).safeParse({ ...sub.opts(), ...named });
      if (!parsed.success) throw new CliUsageError(usageMessage(parsed.error.issues, argumentNames));
      const flags = parsed.data as { output: OutputMode };
      printer.mode = flags.output;
      context.mode = flags.output;
      const result = await command.run(flags, context);
      printer.result(result);
      if (result.failure !== undefined) exitCode = printer.error(result.failure, command.name);
    });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end parsing with exit code 0; help shown for a bare `flox-k8s` with 1.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      if (error.code === 'commander.help') return EXIT.usage;
      return printer.error(new CliUsageError(error.message.replace(/^error: /, '')), current ?? subcommandOf(argv, commands));
    }
    return printer.error(error, current);
  }
}

function subcommandOf(argv: readonly string[], commands: readonly CliCommand[]): string | undefined {
  return argv.find((arg) => commands.some((c) => c.name === arg));
}
