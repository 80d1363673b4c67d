import { spawn } from 'node:child_process';
import { FloxK8sError } from '@flox-k8s/core';
import { gitProcessEnv } from './env.ts';

/** A git command failed (the test fixture, not the code under test). */
export class GitCommandError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_TEST_GIT_FAILED' as const;
  constructor(message: string) {
    super(GitCommandError.code, message);
  }
}

/** Runs the real `git` CLI; resolves its stdout (trailing newline removed). */
export function git(args: readonly string[], options: { input?: string | Uint8Array; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: gitProcessEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8').replace(/\n$/, ''));
      else reject(new GitCommandError(`git ${args.join(' ')} exited ${code}: ${err.trim()}`));
    });
    // Commands that read no input may exit before taking it.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
