import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { withXzDictionary } from '@flox-k8s/hostile-nars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XZ_MEMLIMIT_MIB } from './decode-limits.ts';
import { closeDecoderProcesses, DecoderSlots, decodeWithCommand } from './decoder-processes.ts';
import { decompress } from './decompress.ts';

const sample = Buffer.concat([randomBytes(150_000), Buffer.alloc(1_500_000, 7), Buffer.from('end of sample')]);
const xz = (data: Buffer): Buffer => execFileSync('xz', ['-c', '-6'], { input: data, maxBuffer: 64 << 20 });

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function chunked(buf: Buffer, size = 65_536): AsyncGenerator<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  })();
}

/** Pids of this process's spawners' children that still run `xz` (the decoders). */
function liveDecoders(): number {
  const out = execFileSync('sh', ['-c', 'pgrep -x xz || true']).toString().trim();
  return out === '' ? 0 : out.split('\n').length;
}

// A TMPDIR of these tests' own: the spawners make their directories where os.tmpdir() says when they need one.
const savedTmp = process.env['TMPDIR'];
const ownTmp = mkdtempSync(join(tmpdir(), 'nar-decoder-processes-'));
const decodeDirs = (): string[] => readdirSync(ownTmp).filter((d) => d.startsWith('flox-k8s-decode-'));

describe('decoder processes (one sh starting `xz -dc` per NAR over FIFOs)', () => {
  beforeAll(() => {
    process.env['TMPDIR'] = ownTmp;
  });
  afterAll(async () => {
    await closeDecoderProcesses();
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    rmSync(ownTmp, { recursive: true, force: true });
  });

  it('decodes many NARs at once, each to exactly its bytes, and leaves no FIFO behind', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => Buffer.concat([sample, Buffer.from(`nar ${i}`)]));
    const outs = await Promise.all(inputs.map((data) => collect(decodeWithCommand('xz', 'xz', chunked(xz(data), 4096 + 97)))));
    outs.forEach((out, i) => expect(out.equals(inputs[i] as Buffer)).toBe(true));
    // Each request's FIFOs and stderr file go once its decoder has exited, the directory with the last.
    await expect.poll(() => decodeDirs(), { timeout: 5000 }).toEqual([]);
  });

  it('makes the FIFOs of 8 requests with one mkfifo, and of a request left without them alone', async () => {
    // A mkfifo that logs each run (and, when asked, fails once) first on the PATH of a new spawner.
    const bin = mkdtempSync(join(ownTmp, 'bin-'));
    const log = join(bin, 'runs.log');
    const failOnce = join(bin, 'fail-once');
    writeFileSync(join(bin, 'mkfifo'), `#!/bin/sh\necho "$#" >> '${log}'\nif [ -e '${failOnce}' ]; then rm -f '${failOnce}'; exit 1; fi\nexec /usr/bin/mkfifo "$@"\n`, { mode: 0o755 });
    const saved = process.env['PATH'];
    await closeDecoderProcesses();
    process.env['PATH'] = `${bin}:${saved ?? '/usr/bin:/bin'}`;
    try {
      const runs = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
      const inputs = Array.from({ length: 12 }, (_, i) => Buffer.concat([sample, Buffer.from(`batch ${i}`)]));
      const outs = await Promise.all(inputs.map((data) => collect(decodeWithCommand('xz', 'xz', chunked(xz(data))))));
      outs.forEach((out, i) => expect(out.equals(inputs[i] as Buffer)).toBe(true));
      // Requests 1-8 and 9-16 (argument counts: `-m 600` and 2 FIFOs each): two runs where there were twelve.
      expect(runs()).toEqual(['18', '18']);
      await expect.poll(() => decodeDirs(), { timeout: 5000 }).toEqual([]);
      // The batch fails: the request makes its own two FIFOs and decodes.
      writeFileSync(failOnce, '');
      expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(sample))))).equals(sample)).toBe(true);
      expect(runs().slice(2)).toEqual(['18', '4']);
      await expect.poll(() => decodeDirs(), { timeout: 5000 }).toEqual([]);
    } finally {
      process.env['PATH'] = saved;
      await closeDecoderProcesses();
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('a stream declaring a dictionary larger than xz -9\'s (64 MiB) is refused by every xz decoder; one of 64 MiB decodes', async () => {
    const compressed = xz(sample);
    const of64MiB = withXzDictionary(compressed, 28);
    const limit = new RegExp(`Memory usage limit reached[^]*; the NAR declares a dictionary larger than the ${XZ_MEMLIMIT_MIB} MiB`);
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(of64MiB)))).equals(sample)).toBe(true);
    for (const code of [30, 40]) {
      // 128 MiB and 4 GiB - 1: through the spawner's decoder, a decoder spawned directly (no private
      // directory can be made), and the WASM decoder.
      const hostile = withXzDictionary(compressed, code);
      await expect(collect(decodeWithCommand('xz', 'xz', chunked(hostile)))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(limit) });
      process.env['TMPDIR'] = '/nonexistent-flox-k8s-tmp';
      try {
        await expect(collect(decompress('xz', chunked(hostile), { xz: 'subprocess', xzCommand: '/usr/bin/xz' }))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(limit) });
      } finally {
        process.env['TMPDIR'] = ownTmp;
      }
      await expect(collect(decompress('xz', chunked(hostile), { xz: 'wasm' }))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
    }
    expect((await collect(decompress('xz', chunked(of64MiB), { xz: 'wasm' }))).equals(sample)).toBe(true);
    await expect.poll(() => decodeDirs(), { timeout: 5000 }).toEqual([]);
  });

  it('an empty or one-byte input, and a NAR larger than the pipe and the output batch', async () => {
    const big = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(2 << 20, 1)]);
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(big))))).equals(big)).toBe(true);
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(Buffer.alloc(0)))))).length).toBe(0);
    await expect(collect(decodeWithCommand('xz', 'xz', chunked(Buffer.from([0xfd]))))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
  });

  it('corrupt and truncated input fail with FLOXK8S_DECOMPRESS_FAILED and the decoder\'s own words', async () => {
    const good = xz(sample);
    const flipped = Buffer.from(good);
    for (let i = 200; i < flipped.length; i += 997) flipped[i] = (flipped[i] ?? 0) ^ 0xff;
    await expect(collect(decodeWithCommand('xz', 'xz', chunked(good.subarray(0, good.length >> 1))))).rejects.toMatchObject({
      code: 'FLOXK8S_DECOMPRESS_FAILED',
      message: expect.stringMatching(/xz -dc exited with 1: xz: \(stdin\): Unexpected end of input/),
    });
    await expect(collect(decodeWithCommand('xz', 'xz', chunked(flipped)))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(/xz -dc exited with 1/) });
    await expect(collect(decodeWithCommand('xz', 'xz', chunked(randomBytes(5000))))).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
  });

  it('a command that does not run is FLOXK8S_DECOMPRESS_FAILED naming it, and the spawner goes on serving', async () => {
    await expect(collect(decodeWithCommand('xz', 'no-such-xz-decoder', chunked(xz(sample))))).rejects.toMatchObject({
      code: 'FLOXK8S_DECOMPRESS_FAILED',
      message: expect.stringMatching(/^cannot run no-such-xz-decoder to decode xz: .*not found; install no-such-xz-decoder$/),
    });
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(sample))))).equals(sample)).toBe(true);
  });

  it('a reader that stops early, or an input that fails, ends its decoder', async () => {
    const before = liveDecoders();
    const big = xz(Buffer.concat([randomBytes(4 << 20), sample]));
    for await (const chunk of decodeWithCommand('xz', 'xz', chunked(big))) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    const boom = new Error('socket hang up');
    const failing = (async function* () {
      yield big.subarray(0, 100_000);
      throw boom;
    })();
    await expect(collect(decompress('xz', failing, { xz: 'subprocess' }))).rejects.toBe(boom);
    await expect.poll(() => liveDecoders(), { timeout: 5000 }).toBe(before);
  });

  it('a spawner that dies lets the decodes it started finish, and the next decode starts a new one', async () => {
    const spawnerPids = (): string[] =>
      execFileSync('sh', ['-c', `pgrep -P ${process.pid} -f "[f]lox-k8s-decode xz --memlimit" || true`]).toString().trim().split('\n').filter(Boolean);
    const data = Buffer.concat([randomBytes(1 << 20), sample]);
    // Read slowly, so the decode is still running when its spawner is killed.
    const running = (async () => {
      const parts: Buffer[] = [];
      for await (const c of decodeWithCommand('xz', 'xz', chunked(xz(data)))) {
        parts.push(Buffer.from(c));
        await new Promise((r) => setTimeout(r, 5));
      }
      return Buffer.concat(parts);
    })();
    await new Promise((r) => setTimeout(r, 50));
    const before = spawnerPids();
    expect(before.length).toBe(1);
    process.kill(Number(before[0]), 'SIGKILL');
    // Its decoder and the shell waiting on it still run and report: the decode completes.
    expect((await running).equals(data)).toBe(true);
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(sample))))).equals(sample)).toBe(true);
    const after = spawnerPids();
    expect(after.length).toBe(1);
    expect(after[0]).not.toBe(before[0]);
  });

  it('where no private directory can be made (TMPDIR missing or read-only), decodes by a process spawned directly', async () => {
    process.env['TMPDIR'] = '/nonexistent-flox-k8s-tmp';
    try {
      // A command name of its own, so that no spawner exists for it yet.
      const out = await collect(decompress('xz', chunked(xz(sample)), { xz: 'subprocess', xzCommand: '/usr/bin/xz' }));
      expect(out.equals(sample)).toBe(true);
    } finally {
      process.env['TMPDIR'] = ownTmp;
    }
  });

  it('where the spawner cannot start a decoder (no mkfifo to run), decodes by a process spawned directly', async () => {
    const compressed = xz(sample);
    const saved = process.env['PATH'];
    process.env['PATH'] = '/nonexistent-flox-k8s-bin';
    try {
      // An absolute command of its own: a new spawner, started with this PATH; `xz` itself runs either way.
      for (let i = 0; i < 2; i++) {
        const out = await collect(decompress('xz', chunked(compressed), { xz: 'subprocess', xzCommand: '/bin/xz' }));
        expect(out.equals(sample)).toBe(true);
      }
      expect(decodeDirs()).toEqual([]);
    } finally {
      process.env['PATH'] = saved;
    }
  });

  it('closeDecoderProcesses waits for the spawner to exit; an idle spawner holds no directory', async () => {
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(sample))))).equals(sample)).toBe(true);
    expect(decodeDirs()).toEqual([]);
    expect(execFileSync('sh', ['-c', `pgrep -P ${process.pid} -f "[f]lox-k8s-decode" || true`]).toString().trim()).not.toBe('');
    await closeDecoderProcesses();
    expect(execFileSync('sh', ['-c', `pgrep -P ${process.pid} -f "[f]lox-k8s-decode" || true`]).toString().trim()).toBe('');
    // The next decode starts a new spawner.
    expect((await collect(decodeWithCommand('xz', 'xz', chunked(xz(sample))))).equals(sample)).toBe(true);
  });

  it('in a worker thread, decodes by a process of its own and closes no descriptor of its parent when it exits', async () => {
    // A worker closes the `fs` descriptors it still tracks when it exits (trackUnmanagedFds). FIFO
    // ends handed to sockets stay tracked after the sockets close them: their numbers, reused by
    // this thread meanwhile, would be closed under it. Here the worker decodes, this thread opens
    // files (taking the lowest free numbers, those the worker's ends had), then the worker exits.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', async ({ url, data }) => {
         const { decompress } = await import(url);
         const parts = [];
         for (let i = 0; i < 3; i++) for await (const c of decompress('xz', (async function* () { yield Buffer.from(data); })(), { xz: 'subprocess' })) parts.push(Buffer.from(c));
         parentPort.postMessage(Buffer.concat(parts).length);
         parentPort.once('message', () => process.exit(0));
       });`,
      { eval: true, execArgv: ['--conditions=@flox-k8s/source'] },
    );
    try {
      worker.postMessage({ url: new URL('./decompress.ts', import.meta.url).href, data: xz(sample) });
      const decoded = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(decoded).toBe(sample.length * 3);
      const fds = Array.from({ length: 16 }, () => openSync('/proc/self/stat', 'r'));
      try {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.postMessage('exit');
        await exited;
        const buf = Buffer.alloc(16);
        for (const fd of fds) expect(readSync(fd, buf, 0, 16, 0)).toBeGreaterThan(0);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    } finally {
      await worker.terminate();
    }
  });
});

describe('DecoderSlots', () => {
  it('grants at most its slots at once, the largest waiting NAR first, and a release once', async () => {
    const slots = new DecoderSlots(2);
    const a = await slots.acquire(10, undefined);
    const b = await slots.acquire(10, undefined);
    const order: number[] = [];
    const waiters = [5, 50, 20].map((size) => slots.acquire(size, undefined).then((release) => (order.push(size), release)));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    a();
    a(); // a second release of the same slot frees nothing more
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([50]);
    b();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([50, 20]);
    for (const w of waiters.slice(1)) (await w)();
    expect(order).toEqual([50, 20, 5]);
    (await (waiters[0] as Promise<() => void>))();
  });

  it('a wait ends with the abort reason, or FLOXK8S_ABORTED, and gives up its place', async () => {
    const slots = new DecoderSlots(1);
    const held = await slots.acquire(1, undefined);
    const ac = new AbortController();
    const waiting = slots.acquire(100, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    const plain = new AbortController();
    plain.abort('just a string');
    await expect(slots.acquire(1, plain.signal)).rejects.toMatchObject({ code: 'FLOXK8S_ABORTED' });
    const next = slots.acquire(1, undefined);
    held();
    (await next)();
  });
});
