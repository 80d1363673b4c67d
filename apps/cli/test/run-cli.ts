// Runs the bundled CLI (what the package's bin is) as a child process. Each test file bundles
// it once from source into a temp dir, so tests always run the current code through esbuild.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleCli } from '../src/bundle.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document `--output json` promises. */
  json<T = Record<string, unknown>>(): T;
  /** stderr parsed as the JSON error `--output json` promises on failure. */
  error(): { code: string; message: string };
}

let bundle: Promise<{ entry: string; dir: string }> | undefined;

/** The CLI bundled into a temp dir (once per test file). */
export function bundledCli(): Promise<{ entry: string; dir: string }> {
  bundle ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flox-cli-bundle-'));
    return { entry: await bundleCli(join(dir, 'bundle')), dir };
  })();
  return bundle;
}

export async function removeBundle(): Promise<void> {
  if (bundle !== undefined) await rm((await bundle).dir, { recursive: true, force: true });
}

/** A config file for the CLI's FLOXK8S_CONFIG, so no test reads the host's /etc/flox-k8s. */
export async function writeConfig(dir: string, config: Record<string, unknown> = {}): Promise<string> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(config));
  return path;
}

export interface RunOptions {
  /** FLOXK8S_CONFIG (required: tests never read the host's config). */
  config: string;
  cwd?: string;
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function runCli(args: readonly string[], options: RunOptions): Promise<CliRun> {
  const { entry } = await bundledCli();
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), FLOXK8S_CONFIG: options.config, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(options.stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  return {
    code,
    stdout,
    stderr,
    json: <T>() => JSON.parse(stdout) as T,
    error: () => (JSON.parse(stderr) as { error: { code: string; message: string } }).error,
  };
}
