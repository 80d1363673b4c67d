import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerdFetchError } from './errors.ts';

/** One `deb` source of the machine's apt configuration. */
export interface DebianSource {
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** Parse deb822 `.sources` text (blank-line separated stanzas; `#` comments ignored). */
export function parseDeb822Sources(text: string): DebianSource[] {
  const out: DebianSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (name: string): string[] => (fields.get(name) ?? '').split(/\s+/).filter((w) => w !== '');
    const signedBy = fields.get('signed-by');
    for (const uri of words('uris')) {
      out.push({ uri, suites: words('suites'), components: words('components'), ...(signedBy && !signedBy.includes('\n') ? { signedBy } : {}) });
    }
  }
  return out;
}

/** Parse one-line-style `sources.list` text (`deb [opts] URI suite components…`). */
export function parseOneLineSources(text: string): DebianSource[] {
  const out: DebianSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    out.push({ uri: m[2]!, suites: [m[3]!], components: m[4]!.trim().split(/\s+/).filter((w) => w !== ''), ...(signedBy ? { signedBy } : {}) });
  }
  return out;
}

/** The machine's `deb` sources: `/etc/apt/sources.list` plus `sources.list.d/*.list|*.sources`. */
export async function machineDebianSources(etcApt = '/etc/apt'): Promise<DebianSource[]> {
  const out: DebianSource[] = [];
  const main = await readFile(join(etcApt, 'sources.list'), 'utf8').catch(() => '');
  out.push(...parseOneLineSources(main));
  const dir = join(etcApt, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (name.endsWith('.sources')) out.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) out.push(...parseOneLineSources(text));
  }
  return out;
}

/** The machine's Debian codename (`VERSION_CODENAME` of /etc/os-release), e.g. `bookworm`. */
export async function machineCodename(osRelease = '/etc/os-release'): Promise<string | undefined> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  return /^VERSION_CODENAME=["']?([a-z]+)/m.exec(text)?.[1];
}

/**
 * The Debian archive mirror the machine already uses: the first http(s) source carrying the
 * machine's own release suite (`codename`, e.g. `bookworm`; not `-security`/`-updates`) with
 * `main`. Third-party repositories never carry a Debian codename suite. Never a hard-coded host.
 */
export function debianMirror(sources: readonly DebianSource[], codename: string | undefined): DebianSource {
  const found = sources.find(
    (s) => /^https?:\/\//.test(s.uri) && s.components.includes('main') && codename !== undefined && s.suites.includes(codename),
  );
  if (found === undefined) {
    throw new ContainerdFetchError(
      `no Debian mirror for release ${codename ?? '(unknown: no VERSION_CODENAME in /etc/os-release)'} among ${sources.length} apt sources; add the Debian archive ("deb <mirror> ${codename ?? '<codename>'} main") to /etc/apt`,
    );
  }
  return found;
}
