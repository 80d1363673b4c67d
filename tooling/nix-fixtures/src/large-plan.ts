// Plans the large fixture from the machine's Debian packages: starting from the programs
// the environment installs, follow every ELF file's DT_NEEDED to the package that provides
// the library, and group the packages by source package into store paths laid out as
// nixpkgs does. Each ELF file gets the store's dynamic linker as interpreter and a RUNPATH
// naming only store paths, so nothing resolves outside /nix/store.
import { dirname, isAbsolute, resolve } from 'node:path';
import { destination, OUTPUT_NAMES, relocatedLinkTarget, type OutputName } from './debian-layout.ts';
import { installedPackages, upstreamVersion } from './debian-packages.ts';
import { debianScanner, type ScannedFile } from './debian-scan.ts';
import { FixtureInputMissingError, FixturePlanInvalidError } from './errors.ts';
import { LARGE_PACKAGES, type LargePackageSpec } from './large-packages.ts';
import { orderUnits, reaches } from './unit-order.ts';

/** One file of a planned store path. Placeholders `@<unit>/<output>@` stand for store paths (`@self/<output>@`: this one). */
export interface PlannedFile {
  output: OutputName;
  rel: string;
  /** Host file to copy (regular files). */
  src?: string;
  /** Symlink target (symlinks). */
  link?: string;
  /** ELF files: the interpreter to set (programs only) and the RUNPATH. */
  elf?: { interpreter?: string; rpath: string[] };
  /** Scripts: the new `#!` line (without `#!`), as nixpkgs' patchShebangs writes it. */
  shebang?: string;
}

export interface PlannedUnit {
  /** The Debian source package (`nodejs` for the Node binary). */
  key: string;
  /** Store path name: `<install id>-<version>` when installed, else `<source>-<version>`. */
  name: string;
  version: string;
  debs: string[];
  outputs: OutputName[];
  /** `<unit>/<output>` of the other units this one refers to: its runtime references. */
  refs: string[];
  files: PlannedFile[];
  wrap?: NonNullable<LargePackageSpec['wrap']> & { shell: string };
  /** The lockfile install id when the environment installs it. */
  installId?: string;
}

const ref = (unitKey: string, self: string, output: OutputName): string => `@${unitKey === self ? 'self' : unitKey}/${output}@`;

/** Plans every store path of the large fixture (dependencies first); `node` is the Node binary installed as `nodejs`. */
export function planLarge(node: { binary: string; version: string }): PlannedUnit[] {
  const installed = installedPackages();
  const scan = debianScanner();

  // Follow DT_NEEDED from the installed packages' files to a closed set of packages.
  const scanned = new Map<string, ScannedFile[]>();
  const nodeElf = scan.elf(node.binary);
  const queue = [...LARGE_PACKAGES.flatMap((spec) => spec.debs), ...(nodeElf?.needs ?? []).map((need) => need.deb)];
  for (let deb = queue.shift(); deb !== undefined; deb = queue.shift()) {
    if (scanned.has(deb)) continue;
    const files = scan.files(deb);
    scanned.set(deb, files);
    for (const file of files) for (const need of file.needs ?? []) queue.push(need.deb);
  }

  // One unit per source package; the installed ones are named after their install id.
  const unitOf = new Map<string, string>();
  const units = new Map<string, PlannedUnit>();
  for (const deb of scanned.keys()) {
    const pkg = installed.get(deb);
    if (pkg === undefined) throw new FixtureInputMissingError(`the installed package ${deb}`, '/var/lib/dpkg/status', `Install it: apt-get install ${deb}.`);
    unitOf.set(deb, pkg.source);
    const unit = units.get(pkg.source) ?? newUnit(pkg.source, upstreamVersion(pkg.sourceVersion));
    unit.debs.push(deb);
    units.set(pkg.source, unit);
  }
  const glibc = unitOf.get('libc6');
  const bash = unitOf.get('bash');
  if (glibc === undefined || bash === undefined) {
    throw new FixturePlanInvalidError('libc6 or bash is not among the packages', 'Keep bash and a dynamically linked program in LARGE_PACKAGES.');
  }
  for (const spec of LARGE_PACKAGES.filter((s) => s.debs.length > 0)) {
    const unit = units.get(unitOf.get(spec.debs[0]!)!)!;
    if (unit.installId !== undefined) throw new FixturePlanInvalidError(`${spec.installId} and ${unit.installId} share the source package ${unit.key}`, 'Install one of them.');
    unit.installId = spec.installId;
    unit.name = `${spec.installId}-${unit.version}`;
    if (spec.wrap !== undefined) unit.wrap = { ...spec.wrap, shell: `${ref(bash, unit.key, 'bin')}/bin/bash` };
  }

  const elfPlan = (file: Pick<ScannedFile, 'needs' | 'interpreter'>, self: string): NonNullable<PlannedFile['elf']> => {
    const rpath: string[] = [];
    for (const need of file.needs ?? []) {
      const dest = destination(need.listed);
      if (dest === undefined) throw new FixturePlanInvalidError(`the library ${need.listed} has no place in a store path`, 'Extend debian-layout.ts.');
      const dir = `${ref(unitOf.get(need.deb)!, self, dest.output)}/${dirname(dest.rel)}`;
      if (!rpath.includes(dir)) rpath.push(dir);
    }
    return { ...(file.interpreter === true ? { interpreter: `${ref(glibc, self, 'out')}/lib/ld-linux-x86-64.so.2` } : {}), rpath };
  };
  const scripts: Array<{ unit: PlannedUnit; file: PlannedFile; script: NonNullable<ScannedFile['script']> }> = [];
  for (const [deb, files] of scanned) {
    const unit = units.get(unitOf.get(deb)!)!;
    for (const file of files) {
      const planned: PlannedFile = { output: file.dest.output, rel: file.dest.rel };
      if (file.kind === 'symlink') {
        // A link stays a link inside its own output; anything else keeps its host text.
        const target = file.target!;
        const owner = scan.ownerOf(isAbsolute(target) ? target : resolve(dirname(file.listed), target));
        const inUnit = owner !== undefined && unitOf.get(owner.deb) === unit.key ? destination(owner.listed) : undefined;
        planned.link = relocatedLinkTarget(file.dest, inUnit, target);
      } else {
        planned.src = file.listed;
      }
      if (file.needs !== undefined) planned.elf = elfPlan(file, unit.key);
      if (file.script !== undefined) scripts.push({ unit, file: planned, script: file.script });
      unit.files.push(planned);
    }
  }
  const nodeUnit = newUnit('nodejs', node.version);
  nodeUnit.installId = 'nodejs';
  nodeUnit.files.push({ output: 'out', rel: 'bin/node', src: node.binary, ...(nodeElf !== undefined ? { elf: elfPlan(nodeElf, 'nodejs') } : {}) });
  units.set('nodejs', nodeUnit);
  for (const unit of units.values()) finishUnit(unit);

  // patchShebangs: sh/bash scripts run the store's bash, perl scripts the wrapped perl. A unit
  // that bash or perl itself needs keeps its host `#!`: Nix cannot build a reference cycle.
  const perl = unitOf.get('perl-base');
  const interpreters: Record<string, { unit: string; rel: string } | undefined> = {
    '/bin/sh': { unit: bash, rel: 'bin/bash' },
    '/bin/bash': { unit: bash, rel: 'bin/bash' },
    '/usr/bin/perl': perl === undefined ? undefined : { unit: perl, rel: 'bin/perl' },
  };
  for (const { unit, file, script } of scripts) {
    const target = interpreters[script.interpreter];
    if (target === undefined || (target.unit !== unit.key && reaches(units, target.unit, unit.key))) continue;
    file.shebang = `${ref(target.unit, unit.key, 'bin')}/${target.rel}${script.rest}`;
    if (target.unit !== unit.key) unit.refs = [...new Set([...unit.refs, `${target.unit}/bin`])].sort();
  }
  return orderUnits([...units.values()]);
}

function newUnit(key: string, version: string): PlannedUnit {
  return { key, name: `${key}-${version}`, version, debs: [], outputs: [], refs: [], files: [] };
}

/** Drops collisions (a regular file wins over a symlink at the same place), collects outputs and references. */
function finishUnit(unit: PlannedUnit): void {
  const byPlace = new Map<string, PlannedFile>();
  for (const file of unit.files) {
    const place = `${file.output}/${file.rel}`;
    const seen = byPlace.get(place);
    if (seen === undefined || (seen.link !== undefined && file.src !== undefined)) byPlace.set(place, file);
    else if (seen.src !== undefined && file.src !== undefined && seen.src !== file.src) {
      throw new FixturePlanInvalidError(`${seen.src} and ${file.src} both land at ${unit.name}:${place}`, 'Extend debian-layout.ts.');
    }
  }
  unit.files = [...byPlace.values()].sort((a, b) => `${a.output}/${a.rel}`.localeCompare(`${b.output}/${b.rel}`));
  const outputs = new Set<OutputName>(['out', ...unit.files.map((f) => f.output)]);
  unit.outputs = OUTPUT_NAMES.filter((o) => outputs.has(o));
  const refs = new Set<string>();
  const texts = unit.files.flatMap((f) => [...(f.elf?.rpath ?? []), f.elf?.interpreter ?? '']);
  if (unit.wrap !== undefined) texts.push(unit.wrap.shell);
  for (const text of texts) for (const m of text.matchAll(/@([^@/]+)\/([a-z]+)@/g)) if (m[1] !== 'self') refs.add(`${m[1]}/${m[2]}`);
  unit.refs = [...refs].sort();
}
