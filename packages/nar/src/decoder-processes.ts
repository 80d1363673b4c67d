import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, constants, mkdtempSync, open, openSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { chunksOf, drainedOrClosed } from './chunks.ts';
import { decodeVerdict, decoderOption } from './decode-limits.ts';
import { AbortedError, DecompressError } from './errors.ts';

// Decoding xz (and bzip2) in an `xz -dc` process is ~1.6x cheaper than the WASM decoder and runs
// on another core, but a process started from Node forks Node: 4-11 ms of the calling thread per
// start at the 51-296 MB a realising process holds (bench/spawn-cost.ts, store README), which a
// closure of a hundred xz NARs pays a hundred times. So one small `sh` per command, started once,
// starts them instead: the calling thread writes one line per NAR and opens two FIFOs. How many
// decode at once is bounded by the caller (DecoderSlots in the client): one per core, where 16 at
// once left the largest NAR decoding alone on one core at the end (store README).

// Per request `<id> <dir>`: two FIFOs in <dir>, the decoder (`<command> -dc [<option>]`, both
// positional parameters) started in the background with its
// stdin, stdout and stderr on them (the opens block until this process opens its ends), then
// `<id> pid <pid>` and, once it exits, `<id> exit <status>`. The FIFOs are made ahead, FIFO_BATCH
// requests' at a time by one mkfifo: a request whose FIFOs are not there yet makes its own and the
// next ones' (ids are consecutive), since a mkfifo process per NAR cost ~4 ms of CPU each here
// (store README, "FIFOs made in batches"). A request whose FIFOs are still missing then makes them
// alone, and if that fails answers `<id> exit 127`. The ids are this module's own counters and the
// directory one it made (mkdtemp, 0700): both are read into variables and only ever expanded in
// quotes, as is the command (a positional parameter); none is parsed as shell code. When its stdin
// ends (closeDecoderProcesses, or this process gone, even killed) it waits for its decoders and exits.
const FIFO_BATCH = 8;
const SPAWNER_SCRIPT = `cmd=$1
opt=$2
while read -r id dir; do
  case $id in ''|*[!0-9]*) continue ;; esac
  if [ ! -p "$dir/$id.in" ]; then
    set --
    i=$id
    while [ "$i" -lt $((id + ${FIFO_BATCH})) ]; do set -- "$@" "$dir/$i.in" "$dir/$i.out"; i=$((i + 1)); done
    mkfifo -m 600 "$@" 2>/dev/null
  fi
  (
    f=$dir/$id
    if ! { [ -p "$f.in" ] && [ -p "$f.out" ]; } && ! mkfifo -m 600 "$f.in" "$f.out" 2>"$f.err"; then echo "$id exit 127"; exit 0; fi
    "$cmd" -dc \${opt:+"$opt"} <"$f.in" >"$f.out" 2>>"$f.err" &
    echo "$id pid $!"
    wait $!
    echo "$id exit $?"
  ) &
done
wait
`;

const STDERR_LIMIT = 4096;
const OUTPUT_BATCH = 1 << 20;
const EMPTY = new Uint8Array(0);
const openAsync = promisify(open) as (path: string, flags: number) => Promise<number>;

interface Job {
  started: (pid: number) => void;
  exited: (status: number) => void;
}

/** Request `id`'s FIFOs and stderr file. */
interface JobPaths {
  input: string;
  output: string;
  err: string;
}

/** Directories of requests still in flight, removed if this process exits first. */
const liveDirs = new Set<string>();
let exitHook = false;

/**
 * One long-lived `sh` that starts `<command> -dc` processes on request (see SPAWNER_SCRIPT). Its
 * requests' FIFOs live in a private directory that exists only while requests are in flight: made
 * for the first, removed with the last one's files and whatever FIFOs were made ahead in it, so an
 * idle or killed process leaves nothing.
 */
class Spawner {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #jobs = new Map<number, Job>();
  #next = 1;
  #dir: string | undefined;
  /** Requests whose files are not removed yet (remove()). */
  #files = 0;
  #dead: Error | undefined;
  #closed = false;
  #buffered = '';

  constructor(command: string, option: string | undefined, onDead: () => void) {
    this.#child = spawn('/bin/sh', ['-c', SPAWNER_SCRIPT, 'flox-k8s-decode', command, option ?? ''], { stdio: ['pipe', 'pipe', 'ignore'] });
    // Once it has exited it takes no new request; the decoders it started still report on its
    // stdout, which their shells hold, until the last one is done (its 'close').
    const dead = (err: Error): void => {
      if (this.#dead !== undefined) return;
      this.#dead = err;
      onDead();
    };
    const gone = (err: Error): void => {
      dead(err);
      const jobs = [...this.#jobs.values()];
      this.#jobs.clear();
      for (const job of jobs) job.exited(-1);
    };
    this.#child.once('error', (err) => gone(err));
    this.#child.once('exit', (code, sig) => dead(new Error(`the decoder spawner (sh) exited with ${code ?? sig}`)));
    this.#child.once('close', (code, sig) => {
      this.#closed = true;
      gone(new Error(`the decoder spawner (sh) exited with ${code ?? sig}`));
    });
    this.#child.stdin.on('error', () => undefined);
    this.#child.stdout.setEncoding('utf8');
    this.#child.stdout.on('data', (text: string) => this.#lines(text));
    // Idle, it keeps nothing alive: a request in flight refs it (see #ref).
    this.#child.unref();
    this.#ref();
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  /** Makes the requests' directory if none exists (throws when it cannot be made); true when this thread can use the spawner. */
  ready(): boolean {
    if (this.#dir === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'flox-k8s-decode-'));
      // The protocol is line-based: a directory whose path holds a newline cannot be named in it.
      if (dir.includes('\n')) {
        rmSync(dir, { recursive: true, force: true });
        return false;
      }
      this.#dir = dir;
      liveDirs.add(dir);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
        });
      }
    }
    return true;
  }

  /**
   * Asks for one decoder; `job.started` gets its pid once its FIFOs exist, `job.exited` its status
   * (-1: the spawner died). Returns the request's id and the paths of its files, which remove(paths)
   * deletes once its decoder has exited.
   */
  request(job: Job): { id: number; paths: JobPaths } {
    const id = this.#next++;
    if (!this.ready()) throw new Error(`the temporary directory ${tmpdir()} cannot hold the decoder FIFOs`);
    const dir = this.#dir as string;
    const f = join(dir, String(id));
    const paths = { input: `${f}.in`, output: `${f}.out`, err: `${f}.err` };
    this.#files++;
    if (this.#dead !== undefined) {
      queueMicrotask(() => job.exited(-1));
      return { id, paths };
    }
    this.#jobs.set(id, job);
    this.#ref();
    this.#child.stdin.write(`${id} ${dir}\n`);
    return { id, paths };
  }

  /** Removes a request's FIFOs and stderr file (its decoder has exited), and the directory with the last request's. */
  remove(paths: JobPaths): void {
    for (const f of [paths.input, paths.output, paths.err]) rmSync(f, { force: true });
    this.#files--;
    if (this.#files === 0 && this.#dir !== undefined) {
      rmSync(this.#dir, { recursive: true, force: true });
      liveDirs.delete(this.#dir);
      this.#dir = undefined;
    }
  }

  #lines(text: string): void {
    this.#buffered += text;
    let nl: number;
    while ((nl = this.#buffered.indexOf('\n')) >= 0) {
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      const m = /^(\d+) (pid|exit) (\d+)$/.exec(line);
      if (m === null) continue;
      const id = Number(m[1]);
      const job = this.#jobs.get(id);
      if (job === undefined) continue;
      if (m[2] === 'pid') job.started(Number(m[3]));
      else {
        this.#jobs.delete(id);
        job.exited(Number(m[3]));
        this.#ref();
      }
    }
  }

  /** The spawner's pipes keep the event loop alive only while a request is in flight. */
  #ref(): void {
    const stdout = this.#child.stdout as Readable & { ref?: () => void; unref?: () => void };
    const stdin = this.#child.stdin as Writable & { ref?: () => void; unref?: () => void };
    if (this.#jobs.size > 0) {
      stdout.ref?.();
    } else {
      stdout.unref?.();
      stdin.unref?.();
    }
  }

  /** Ends the spawner: it waits for the decoders it started, then exits (and is reaped, with their CPU time). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.#child.once('close', () => resolve()));
    // Waited for: its exit keeps this process alive until then.
    this.#child.ref();
    (this.#child.stdout as Readable & { ref?: () => void }).ref?.();
    this.#child.stdin.end();
    return closed;
  }
}

const spawners = new Map<string, Spawner>();

/**
 * A spawner that could not start a decoder (no `sh` or `mkfifo` to run, the FIFOs not made, the
 * spawner gone) before anything was read from the input: the caller decodes it another way.
 */
export class DecoderNotStartedError extends Error {
  override readonly name = 'DecoderNotStartedError';
}

// After a decoder could not be started, its command's spawner is not used for this long.
const NOT_STARTED_BACKOFF_MS = 60_000;
const notStartedUntil = new Map<string, number>();

function spawnerFor(compression: string, command: string): Spawner {
  const option = decoderOption(compression);
  const key = `${command}\n${option ?? ''}`;
  let s = spawners.get(key);
  if (s === undefined || s.dead) {
    const fresh = new Spawner(command, option, () => {
      if (spawners.get(key) === fresh) spawners.delete(key);
    });
    spawners.set(key, fresh);
    s = fresh;
  }
  return s;
}

/**
 * Whether this thread can start decoders through a spawner (its private directory can be made:
 * a read-only or missing temporary directory cannot), starting it if need be.
 */
export function spawnerAvailable(compression: string, command: string): boolean {
  if ((notStartedUntil.get(command) ?? 0) > Date.now()) return false;
  try {
    return spawnerFor(compression, command).ready();
  } catch {
    return false;
  }
}

/**
 * Stops this thread's decoder spawners once the decoders they started have exited; the next decode
 * starts a new one. For a clean shutdown, and for benchmarks: the decoders' CPU time reaches this
 * process's reaped-children time only once the spawner has exited.
 */
export async function closeDecoderProcesses(): Promise<void> {
  const all = [...spawners.values()];
  spawners.clear();
  await Promise.all(all.map((s) => s.close()));
}

/**
 * Decodes `input` with `<command> -dc` in a process started by the command's spawner. Errors of
 * `input` itself are rethrown as they are (tagged by the caller through `inputErrors`); a decoder
 * that cannot start or exits non-zero is a DecompressError. Leaving early (an error, or the reader
 * stopping) kills the decoder.
 */
export async function* decodeWithCommand(compression: string, command: string, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pid: number | undefined;
  let status: number | undefined;
  let onStatus: (() => void) | undefined;
  let onPid: (() => void) | undefined;
  let paths: JobPaths | undefined;
  let inputOpen: Promise<number> | undefined;
  // Our open of its input waits for a reader, which a decoder that died first (or was never
  // there) will not be: a reader of our own ends that wait, so no pool thread stays blocked.
  const unblockInput = (): void => {
    if (inputOpen === undefined || paths === undefined) return;
    try {
      closeSync(openSync(paths.input, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      // the FIFO is gone: the open has failed already
    }
  };
  const job = {
    started: (p: number): void => {
      pid = p;
      onPid?.();
    },
    exited: (s: number): void => {
      status = s;
      unblockInput();
      onPid?.();
      onStatus?.();
    },
  };
  let spawner: Spawner;
  try {
    spawner = spawnerFor(compression, command);
    ({ paths } = spawner.request(job));
  } catch (err) {
    throw new DecoderNotStartedError(`the decoder spawner could not take a request: ${(err as Error).message}`);
  }
  const files = paths as JobPaths;
  let output: Socket | undefined;
  let feeder: Socket | undefined;
  let finished = false;
  try {
    await new Promise<void>((resolve) => {
      onPid = resolve;
      if (pid !== undefined || status !== undefined) resolve();
    });
    if (pid === undefined) {
      // Nothing was read from the input: the caller may decode it another way.
      notStartedUntil.set(command, Date.now() + NOT_STARTED_BACKOFF_MS);
      throw new DecoderNotStartedError(`the decoder spawner could not start ${command}${failureText(files.err)}`);
    }
    // Its output first, non-blocking (nothing to wait for): the decoder's open for writing then finds
    // a reader. Its input with a blocking open for writing on libuv's pool, which returns once the
    // decoder holds the read end: closing ours is then its EOF, never an end it has not yet seen.
    output = new Socket({ fd: openSync(files.output, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    inputOpen = openAsync(files.input, constants.O_WRONLY);
    // It may have exited between its pid line and this open: then nothing else would end the wait.
    if (status !== undefined) unblockInput();
    const inputFd = await inputOpen;
    inputOpen = undefined;
    feeder = new Socket({ fd: inputFd, readable: false, writable: true });
    // EPIPE: the decoder quit before reading everything; its exit status says why.
    feeder.on('error', () => undefined);
    const fed = feed(input, feeder);
    let feedError: unknown;
    fed.catch((err: unknown) => {
      feedError = err;
      output?.destroy();
    });
    // A pipe holds 64 KiB and is read as soon as anything is in it: joined into larger pieces, the
    // parser, the hash and the file writes see fewer, larger chunks.
    try {
      for await (const chunk of chunksOf(output, { batchBytes: OUTPUT_BATCH })) yield chunk;
    } catch (err) {
      // The input failed first and its error closed the output: that error is the one to report.
      throw feedError ?? err;
    }
    await fed;
    if (feedError !== undefined) throw feedError;
    await new Promise<void>((resolve) => {
      onStatus = resolve;
      if (status !== undefined) resolve();
    });
    if (status === 127) throw new DecompressError(`cannot run ${command} to decode ${compression}${failureText(files.err)}; install ${command}`);
    if (status !== 0) {
      const text = failureText(files.err);
      throw new DecompressError(`${command} -dc exited with ${status}${text}; ${decodeVerdict(compression, { stderr: text })}`);
    }
    finished = true;
  } finally {
    if (!finished) {
      // Our ends closed first: whatever it is blocked on (a write, a read) then fails; the kill covers the rest.
      feeder?.destroy();
      output?.destroy();
      if (inputOpen !== undefined) {
        unblockInput();
        await inputOpen.then(closeSync, () => undefined);
      }
      if (pid !== undefined && status === undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Its FIFOs and stderr go once it has exited (it may still be opening them before that).
    if (status !== undefined) spawner.remove(files);
    else onStatus = () => spawner.remove(files);
  }
}

/** Writes `input` into the decoder's stdin with back-pressure, then closes it (its EOF) once every write has reached the pipe. */
async function feed(input: AsyncIterable<Uint8Array>, sink: Socket): Promise<void> {
  try {
    for await (const chunk of input) {
      if (sink.destroyed) return;
      if (!sink.write(chunk)) await drainedOrClosed(sink);
    }
    // A write's callback comes after those of the writes before it ('drain' only follows a write
    // that returned false), and with an error if the socket is destroyed first.
    await new Promise<void>((resolve) => sink.write(EMPTY, () => resolve()));
  } finally {
    sink.destroy();
  }
}

/** `: <first line of stderr>` from the decoder's stderr file, or ''. */
function failureText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(STDERR_LIMIT);
    const n = readSync(fd, buf, 0, STDERR_LIMIT, null);
    const text = buf.subarray(0, n).toString('utf8').trim();
    return text === '' ? '' : `: ${text.split('\n')[0]}`;
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/**
 * At most `slots` decoder processes at once, granted largest NAR first: the largest decodes the
 * longest, so starting it first keeps it from finishing alone on one core.
 */
export class DecoderSlots {
  readonly #waiting: Array<{ size: number; grant: () => void }> = [];
  #free: number;

  constructor(slots: number) {
    this.#free = slots;
  }

  /** Waits for a slot; resolves to its release function. Rejects with AbortedError when `signal` fires first. */
  acquire(size: number, signal: AbortSignal | undefined): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(aborted(signal));
    const release = (): (() => void) => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const next = this.#waiting.shift();
        if (next === undefined) this.#free++;
        else next.grant();
      };
    };
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        size,
        grant: (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release());
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(aborted(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let at = this.#waiting.findIndex((w) => w.size < size);
      if (at < 0) at = this.#waiting.length;
      this.#waiting.splice(at, 0, entry);
    });
  }
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError('the NAR fetch was aborted while it waited for a decoder');
}
