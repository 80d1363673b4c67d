import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A runc wrapper that copies what runc is handed (`create`'s bundle config.json, `exec`'s process.json) into a directory. */
export interface RuncCapture {
  /** The wrapper to use as the runtime's `BinaryName`. */
  wrapper: string;
  dir: string;
  /** Everything captured so far, oldest first. */
  captured(): Promise<Array<{ kind: 'config' | 'process'; file: string; json: unknown }>>;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Write a runc wrapper (POSIX sh) into `dir` that captures into `dir/captured/` and then execs `runc`. */
export async function runcCapture(dir: string, runc = '/usr/sbin/runc'): Promise<RuncCapture> {
  const out = join(dir, 'captured');
  await mkdir(out, { recursive: true });
  const wrapper = join(dir, 'runc-capture');
  // The shim passes global flags first (--root, --log, …); only the subcommand's own flags matter here.
  const script = `#!/bin/sh
out=${shQuote(out)}
sub= bundle= process= prev=
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle=$a ;;
    --process|-p) process=$a ;;
  esac
  case "$a" in
    --bundle=*) bundle=\${a#--bundle=} ;;
    --process=*) process=\${a#--process=} ;;
    create|exec|run) [ -z "$sub" ] && sub=$a ;;
  esac
  prev=$a
done
n=$(date +%s%N)
if [ "$sub" = create ] && [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then cp "$bundle/config.json" "$out/$n.config.json"; fi
if [ "$sub" = exec ] && [ -n "$process" ] && [ -f "$process" ]; then cp "$process" "$out/$n.process.json"; fi
exec ${shQuote(runc)} "$@"
`;
  await writeFile(wrapper, script);
  await chmod(wrapper, 0o755);
  return {
    wrapper,
    dir: out,
    captured: async () => {
      const names = (await readdir(out)).sort();
      return Promise.all(
        names.map(async (file) => ({
          kind: file.endsWith('.process.json') ? ('process' as const) : ('config' as const),
          file: join(out, file),
          json: JSON.parse(await readFile(join(out, file), 'utf8')) as unknown,
        })),
      );
    },
  };
}
