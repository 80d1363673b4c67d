// Compare xz / bzip2 stream decoders on one file: median MB/s of output over several runs.
//   node bench/decoders.ts xz FILE.xz --candidates DIR [--runs 3]
//   node bench/decoders.ts bzip2 FILE.bz2 --candidates DIR
// DIR is a scratch project where the candidates were installed with
// `pnpm add xz-decompress @napi-rs/lzma lzma-native unbzip2-stream seek-bzip` (they are not our dependencies).
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { flag, median, option } from './lib.ts';

type Chunks = AsyncIterable<Uint8Array>;
const [kind, file] = process.argv.slice(2) as ['xz' | 'bzip2', string];
const runs = flag('runs', 3);
const load = createRequire(join(option('candidates', process.cwd()), 'package.json'));

async function drain(it: Chunks): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

function subprocess(cmd: string): Promise<number> {
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  createReadStream(file).pipe(child.stdin);
  return drain(child.stdout);
}

const web = (): ReadableStream<Uint8Array> => Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
const candidates: Record<string, Record<string, () => Promise<number>>> = {
  xz: {
    'xz -dc': () => subprocess('xz'),
    'lzma-native': () => drain(createReadStream(file).pipe((load('lzma-native') as { createDecompressor(): PassThrough }).createDecompressor())),
    '@napi-rs/lzma': () => drain((load('@napi-rs/lzma') as { xz: { decompressStream(s: ReadableStream<Uint8Array>): Chunks } }).xz.decompressStream(web())),
    'xz-decompress': () => {
      const { XzReadableStream } = load('xz-decompress') as { XzReadableStream: new (s: ReadableStream<Uint8Array>) => Chunks };
      return drain(new XzReadableStream(web()));
    },
  },
  bzip2: {
    'bzip2 -dc': () => subprocess('bzip2'),
    'unbzip2-stream': () => drain(createReadStream(file).pipe((load('unbzip2-stream') as () => PassThrough)()).pipe(new PassThrough())),
    'seek-bzip (whole buffer)': async () => (load('seek-bzip') as { decode(b: Buffer): Buffer }).decode(readFileSync(file)).length,
  },
};

for (const [name, run] of Object.entries(candidates[kind] ?? {})) {
  const times: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      bytes = await run();
      times.push((performance.now() - t) / 1000);
    }
    const m = median(times);
    console.log(`${name.padEnd(26)} median ${m.toFixed(2)} s, ${(bytes / 1e6 / m).toFixed(1)} MB/s out`);
  } catch (err) {
    console.log(`${name.padEnd(26)} failed: ${(err as Error).message}`);
  }
}
