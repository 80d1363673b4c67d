import tar, { type Header } from 'tar-stream';

export type TarHeader = Partial<Header> & Pick<Header, 'name'>;

/** Pack entries, in the order given, into one tar held in memory. */
export async function packTar(entries: Iterable<{ header: TarHeader; body?: Uint8Array }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body === undefined) pack.entry(header, done);
      else pack.entry(header, body, done);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}
