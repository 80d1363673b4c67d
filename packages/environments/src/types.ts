/** Reads files of the environment layout relative to a source's base. */
export interface SourceReader {
  /** For messages: `hub https://…` or `dir /var/lib/…`. */
  readonly label: string;
  /** The file's bytes, or undefined when it does not exist. Throws on other failures. */
  read(relativePath: string, limit: number): Promise<Uint8Array | undefined>;
}
