// Builds NAR byte strings token by token, for hostile and hand-made archives in tests.

/** A NAR node for `narOf`; `raw` tokens let tests break the grammar on purpose. */
export type NarNode =
  | { type: 'regular'; contents: string | Uint8Array; executable?: boolean }
  | { type: 'symlink'; target: string }
  | { type: 'directory'; entries: Array<[string | Uint8Array, NarNode]> };

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function str(s: string | Uint8Array, padByte = 0): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : Buffer.from(s);
  const pad = (8 - (b.length % 8)) % 8;
  return Buffer.concat([u64(b.length), b, Buffer.alloc(pad, padByte)]);
}

export function tokens(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? str(p) : p)));
}

export function nodeBytes(node: NarNode): Buffer {
  switch (node.type) {
    case 'regular':
      return tokens('(', 'type', 'regular', ...(node.executable === true ? ['executable', ''] : []), 'contents', str(node.contents), ')');
    case 'symlink':
      return tokens('(', 'type', 'symlink', 'target', node.target, ')');
    case 'directory':
      return tokens(
        '(',
        'type',
        'directory',
        ...node.entries.flatMap(([name, child]) => [str('entry'), str('('), str('name'), str(name), str('node'), nodeBytes(child), str(')')]),
        ')',
      );
  }
}

/** A whole NAR (magic + root node). Entries are written in the order given, sorted or not. */
export function narOf(node: NarNode): Buffer {
  return Buffer.concat([str('nix-archive-1'), nodeBytes(node)]);
}

/** A tiny seeded PRNG (mulberry32) so fuzz runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
