import tar from 'tar-stream';

/** Test helper: the entries of a tar held in memory, with their bodies. */
export async function readTar(bytes: Uint8Array): Promise<Array<{ name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string | null; body: Buffer }>> {
  const extract = tar.extract();
  const out: Array<{ name: string; type: string; mode: number; uid: number; gid: number; mtime: number; linkname: string | null; body: Buffer }> = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({ name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime.getTime() / 1000, linkname: h.linkname ?? null, body: Buffer.concat(chunks) });
    }
  })();
  extract.end(Buffer.from(bytes));
  await done;
  return out;
}
