import { spawn } from 'node:child_process';

/** Runs a command to its end; resolves to its stdout, rejects with the head of its stderr when it fails. */
export function runCaptured(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    // The head of stderr is enough to say why; a chatty child must not grow this without bound.
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s.slice(0, 8192)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`))));
  });
}
