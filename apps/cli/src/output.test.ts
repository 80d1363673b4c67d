import { describe, expect, it } from 'vitest';
import { CliUsageError } from './errors.ts';
import { Printer, Redactor } from './output.ts';

describe('Redactor', () => {
  it('masks URL user info and every secret it was given, wherever they appear', () => {
    const redactor = new Redactor();
    redactor.add('tok-8c1d');
    expect(redactor.redact('hub https://ci:pa55@hub.example/envs: HTTP 401 (sent Bearer tok-8c1d, tok-8c1d)')).toBe(
      'hub https://***@hub.example/envs: HTTP 401 (sent Bearer ***, ***)',
    );
    expect(redactor.redact('{"target":"hub http://user@10.0.0.1:8080/x"}')).toBe('{"target":"hub http://***@10.0.0.1:8080/x"}');
    expect(redactor.redact('mail me at ops@example.com')).toBe('mail me at ops@example.com');
  });
});

describe('Printer', () => {
  it('prints errors with their code and returns exit 2 for usage, 1 otherwise; JSON on stderr in JSON mode', () => {
    const out: string[] = [];
    const err: string[] = [];
    const printer = new Printer({ write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) }, new Redactor());
    expect(printer.error(new CliUsageError('--cache: bad'), 'realise')).toBe(2);
    expect(err.pop()).toBe('flox-k8s: error FLOXK8S_CLI_USAGE: --cache: bad\nsee: flox-k8s realise --help\n');
    printer.mode = 'json';
    expect(printer.error(new Error('boom'), 'realise')).toBe(1);
    expect(JSON.parse(err.pop() as string)).toEqual({ error: { code: 'FLOXK8S_CLI_UNEXPECTED', message: 'boom' } });
    printer.result({ json: { a: 1 }, human: 'ignored' });
    expect(out).toEqual(['{\n  "a": 1\n}\n']);
  });
});
