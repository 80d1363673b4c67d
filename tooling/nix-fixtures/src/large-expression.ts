// The Nix expression and builder behind `nixLargeFixtures()`. The plan (large-plan.ts) is
// read as JSON: one derivation per planned unit, with the unit's outputs, its file list and
// the store paths it refers to (string context makes them real dependencies). The builder
// is the host's Node (the sandbox is off): it copies the host files, relocates ELF files with
// patchelf, points `#!` lines into the store and writes makeWrapper-style wrappers.

export const LARGE_EXPRESSION = `{ planFile, node, patchelf }:
let
  plan = builtins.fromJSON (builtins.readFile planFile);
  attrName = key: builtins.replaceStrings [ "." "+" ] [ "_" "_" ] key;
  units = builtins.listToAttrs (map (u: { name = attrName u.key; value = mk u; }) plan.units);
  refPath = ref:
    let parts = builtins.split "/" ref;
    in "\${builtins.getAttr (builtins.elemAt parts 2) (builtins.getAttr (attrName (builtins.elemAt parts 0)) units)}";
  # A variant's salted units (large-variant.ts) get one more attribute, so other store paths;
  # every unsalted unit's derivation stays byte for byte the large fixture's.
  mk = u: derivation ({
    inherit (u) name;
    system = "x86_64-linux";
    builder = node;
    args = [ ./large-builder.mjs ];
    outputs = u.outputs;
    inherit patchelf;
    unit = builtins.toJSON { inherit (u) files; wrap = u.wrap or null; };
    refs = builtins.toJSON (builtins.listToAttrs (map (ref: { name = ref; value = refPath ref; }) u.refs));
    # A unit of thousands of files is larger than one environment variable may be.
    passAsFile = [ "unit" "refs" ];
  } // (if u ? salt then { inherit (u) salt; } else { }));
in units
`;

/** Nix attribute name of a unit key (`boost1.74` → `boost1_74`), as the expression computes it. */
export function unitAttr(key: string): string {
  return key.replaceAll('.', '_').replaceAll('+', '_');
}

export const LARGE_BUILDER = `// Writes one unit of the large fixture; see large-expression.ts in @flox-k8s/nix-fixtures.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const unit = JSON.parse(readFileSync(process.env.unitPath, 'utf8'));
const refs = JSON.parse(readFileSync(process.env.refsPath, 'utf8'));
const outputs = Object.fromEntries(process.env.outputs.split(' ').map((name) => [name, process.env[name]]));
const fill = (text) =>
  text.replace(/@([^@/]+)\\/([a-z]+)@/g, (_, key, output) => {
    const path = key === 'self' ? outputs[output] : refs[key + '/' + output];
    if (path === undefined) throw new Error('no store path for ' + key + '/' + output);
    return path;
  });
const patchelf = (args, file) => {
  const r = spawnSync(process.env.patchelf, [...args, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('patchelf ' + args.join(' ') + ' ' + file + ' failed: ' + r.stderr + (r.error ?? ''));
};

for (const dir of Object.values(outputs)) mkdirSync(dir, { recursive: true });
for (const file of unit.files) {
  const dest = join(outputs[file.output], file.rel);
  mkdirSync(dirname(dest), { recursive: true });
  if (file.link !== undefined) {
    symlinkSync(fill(file.link), dest);
    continue;
  }
  // Not copyFileSync: it copies setuid bits (util-linux's su), which Nix's build seccomp filter refuses.
  // Writable while patching; Nix makes everything read-only when it registers the output.
  writeFileSync(dest, readFileSync(file.src), { mode: statSync(file.src).mode & 0o111 ? 0o755 : 0o644 });
  if (file.elf !== undefined) {
    if (file.elf.interpreter !== undefined) patchelf(['--set-interpreter', fill(file.elf.interpreter)], dest);
    patchelf(['--set-rpath', file.elf.rpath.map(fill).join(':')], dest);
  }
  if (file.shebang !== undefined) {
    const text = readFileSync(dest);
    const end = text.indexOf(10);
    writeFileSync(dest, Buffer.concat([Buffer.from('#!' + fill(file.shebang)), text.subarray(end === -1 ? text.length : end)]));
  }
}

if (unit.wrap !== null) {
  // As nixpkgs' makeWrapper: the program moves aside and a script sets the environment.
  const bin = join(outputs.bin, 'bin');
  const wrapped = join(bin, '.' + unit.wrap.program + '-wrapped');
  renameSync(join(bin, unit.wrap.program), wrapped);
  const lines = ['#!' + fill(unit.wrap.shell)];
  for (const [name, dirs] of Object.entries(unit.wrap.env)) {
    const value = dirs.map((dir) => join(outputs.out, dir)).join(':');
    lines.push('export ' + name + "='" + value + "'\${" + name + ":+':'}$" + name);
  }
  lines.push('exec -a "$0" "' + wrapped + '" "$@"', '');
  writeFileSync(join(bin, unit.wrap.program), lines.join('\\n'), { mode: 0o755 });
}
`;
