// Realise progress on stderr: a bar of bytes and paths on a terminal (cli-progress), plain
// lines otherwise (CI logs, pipes), nothing for `--output json` unless asked for.
import type { RealiseProgress } from '@flox-k8s/store';
import cliProgress from 'cli-progress';
import { formatBytes } from './format.ts';
import type { Printer } from './output.ts';

export type ProgressMode = 'bar' | 'lines' | 'none';

/** `--progress auto`: a bar on a terminal, lines elsewhere, none with `--output json`. */
export function progressMode(flag: 'auto' | ProgressMode, json: boolean, isTTY: boolean): ProgressMode {
  if (flag !== 'auto') return flag;
  if (json) return 'none';
  return isTTY ? 'bar' : 'lines';
}

/** How often a plain progress line may repeat the byte count while a large NAR streams. */
const LINE_INTERVAL_MS = 2000;

/** Turns the store's realise events into a progress bar or progress lines. */
export class RealiseProgressView {
  readonly #mode: ProgressMode;
  readonly #stream: NodeJS.WritableStream;
  readonly #printer: Printer;
  readonly #bytesByPath = new Map<string, number>();
  #bar: cliProgress.SingleBar | undefined;
  #missing = 0;
  #narBytes = 0;
  #pathsDone = 0;
  #lastLine = 0;

  constructor(mode: ProgressMode, stream: NodeJS.WritableStream, printer: Printer) {
    this.#mode = mode;
    this.#stream = stream;
    this.#printer = printer;
  }

  readonly onProgress = (event: RealiseProgress): void => {
    if (this.#mode === 'none') return;
    switch (event.type) {
      case 'resolved':
        this.#missing = event.missing;
        this.#narBytes = event.narBytes;
        if (event.missing === 0) this.#line(`realise: all ${event.closure} paths of the closure are present`);
        else if (this.#mode === 'lines') this.#line(`realise: closure of ${event.closure} paths, ${event.missing} to fetch (${formatBytes(event.narBytes)} of NAR)`);
        else this.#startBar();
        return;
      case 'fetch-progress':
        this.#bytesByPath.set(event.storePath, Math.min(event.bytesOut, event.narSize));
        if (this.#mode === 'lines' && Date.now() - this.#lastLine >= LINE_INTERVAL_MS) this.#line(`realise: ${this.#summary()}`);
        this.#updateBar();
        return;
      case 'fetched':
        this.#bytesByPath.set(event.storePath, event.narSize);
        this.#pathsDone += 1;
        if (this.#mode === 'lines') this.#line(`realise: fetched ${event.storePath} (${formatBytes(event.narSize)}); ${this.#summary()}`);
        this.#updateBar();
        return;
      case 'waiting':
        if (this.#mode === 'lines') this.#line(`realise: waiting for another process fetching ${event.storePath}`);
        return;
      case 'present':
        // A missing path another process realised meanwhile: done, without bytes from us.
        this.#pathsDone += 1;
        this.#updateBar();
        return;
      case 'fetch-start':
      case 'registered':
        return;
    }
  };

  /** Ends the bar (its last frame stays on screen). */
  finish(): void {
    if (this.#bar === undefined) return;
    this.#bar.update(Math.min(this.#done(), this.#narBytes), this.#payload());
    this.#bar.stop();
    this.#bar = undefined;
  }

  #done(): number {
    let sum = 0;
    for (const bytes of this.#bytesByPath.values()) sum += bytes;
    return sum;
  }

  #summary(): string {
    return `${formatBytes(this.#done())} of ${formatBytes(this.#narBytes)}, ${this.#pathsDone}/${this.#missing} paths`;
  }

  #payload(): { bytes: string; paths: string } {
    return { bytes: `${formatBytes(this.#done())} / ${formatBytes(this.#narBytes)}`, paths: `${this.#pathsDone}/${this.#missing}` };
  }

  #line(text: string): void {
    this.#lastLine = Date.now();
    this.#printer.note(text);
  }

  #startBar(): void {
    this.#bar = new cliProgress.SingleBar(
      {
        stream: this.#stream,
        format: 'realise {bar} {percentage}% | {bytes} | {paths} paths | ETA {eta_formatted}',
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        hideCursor: true,
        gracefulExit: true,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(Math.max(this.#narBytes, 1), 0, this.#payload());
  }

  #updateBar(): void {
    this.#bar?.update(Math.min(this.#done(), this.#narBytes), this.#payload());
  }
}
