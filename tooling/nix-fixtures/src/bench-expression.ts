// The Nix expression and builder behind `nixBenchFixtures()`: a binary tree of
// store paths (each references its two children, so the root's closure is all of
// them) filled with deterministic data that compressors must work for: an
// AES-CTR keystream (incompressible, like binaries and compressed assets) mixed
// with word-salad text (compresses 3-5x, like docs and scripts) and many small
// files (per-entry NAR overhead).
//
// The builder is the host's Node (the sandbox is off): it makes hundreds of
// megabytes of keystream fast, where a shell would take minutes.

/** Version of the bench layout; part of the cache key. */
export const BENCH_VERSION = 1;

export const BENCH_EXPRESSION = `{ node, count, bytesPerPath }:
let
  nodes = builtins.genList mk count;
  mk = i: derivation {
    name = "flox-bench-\${toString i}";
    system = "x86_64-linux";
    builder = node;
    args = [ ./bench-builder.mjs ];
    index = i;
    size = bytesPerPath;
    children = map (j: builtins.elemAt nodes j) (builtins.filter (j: j < count) [ (2 * i + 1) (2 * i + 2) ]);
  };
in { root = builtins.elemAt nodes 0; }
`;

export const BENCH_BUILDER = `// Writes one bench store path; see bench-expression.ts in @flox-k8s/nix-fixtures.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';

const out = process.env.out;
const index = Number(process.env.index);
const size = Number(process.env.size);
const children = (process.env.children ?? '').split(' ').filter(Boolean);

const seed = createHash('sha256').update('flox-bench-' + index).digest();
const cipher = createCipheriv('aes-128-ctr', seed.subarray(0, 16), seed.subarray(16, 32));
const random = (n) => cipher.update(Buffer.alloc(n));

const words = ('store path closure narinfo substitute signature reference derivation output profile ' +
  'activation environment container runtime snapshot layer manifest package version system hook vars ' +
  'compression stream digest hash archive directory symlink executable shell binary library module the a ' +
  'of to and in is for with on by from as at it be this that are or an was not which').split(' ');
function text(n) {
  if (n <= 0) return Buffer.alloc(0);
  const bytes = random(n);
  const parts = [];
  let length = 0;
  for (let i = 0; length < n; i++) {
    const word = words[bytes[i % n] % words.length] + ((i % 13) === 12 ? '\\n' : ' ');
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

mkdirSync(out + '/share/doc', { recursive: true });
mkdirSync(out + '/lib');
mkdirSync(out + '/nix-support');
writeFileSync(out + '/nix-support/children', children.map((c) => c + '\\n').join(''));
children.forEach((child, i) => symlinkSync(child + '/share/blob.bin', out + '/share/child-' + i));

const smallFiles = 32;
const smallSize = Math.floor(Math.min(size * 0.05, 32 * 4096) / smallFiles);
const textSize = Math.floor(size * 0.4);
const blobSize = size - textSize - smallSize * smallFiles;
for (let i = 0; i < smallFiles; i++) {
  writeFileSync(out + '/lib/part-' + String(i).padStart(2, '0') + (i % 2 ? '.txt' : '.bin'), i % 2 ? text(smallSize) : random(smallSize));
}
writeFileSync(out + '/share/doc/words.txt', text(textSize));
const fd = openSync(out + '/share/blob.bin', 'w');
for (let left = blobSize; left > 0; left -= 1 << 20) writeSync(fd, random(Math.min(left, 1 << 20)));
closeSync(fd);
`;
