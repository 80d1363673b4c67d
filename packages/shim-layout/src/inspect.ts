// Reads an installed layout back: the paths its launcher and runc front had baked in, and
// whether each is there. For checks on a node (the CLI's doctor), where the layout may be
// half-copied, from another version, or pointing at a Node that is gone.
import { access, constants, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { FRONT_CONFIG_NAME, FRONT_SCRIPT_NAME } from '@flox-k8s/agent-protocol';
import { isElf } from './front.ts';

/** What an installed `containerd-shim-flox-v2` launcher leads to. */
export interface InstalledLayout {
  /** The launcher, symlinks resolved. */
  launcher: string;
  /** The directory the launcher puts first on PATH (it holds the runc front), if readable. */
  frontDir: string | undefined;
  /** The Node binary and the interposer bundle baked into the front, if readable. */
  node: string | undefined;
  entry: string | undefined;
  /** One line per missing or unreadable piece; empty when the layout is complete. */
  problems: string[];
}

// The launcher's `PATH=<frontDir>:$PATH` and the front's `floxk8s_node=…` / `floxk8s_entry=…`
// lines, as installLayout writes them (sh single-quoted values).
const QUOTED = String.raw`'((?:[^']|'\\'')*)'`;
const LAUNCHER_PATH_LINE = new RegExp(`^PATH=${QUOTED}:\\$PATH$`, 'm');
const frontValue = (name: string): RegExp => new RegExp(`^floxk8s_${name}=${QUOTED}$`, 'm');

const unquote = (value: string): string => value.replaceAll(`'\\''`, "'");
const executable = (path: string): Promise<boolean> => access(path, constants.X_OK).then(() => true, () => false);
const readable = (path: string): Promise<boolean> => access(path, constants.R_OK).then(() => true, () => false);

/** Reads the layout an installed launcher belongs to and checks that every piece is there. */
export async function inspectLayout(launcherPath: string): Promise<InstalledLayout> {
  const problems: string[] = [];
  const launcher = await realpath(launcherPath).catch(() => launcherPath);
  const layout: InstalledLayout = { launcher, frontDir: undefined, node: undefined, entry: undefined, problems };
  if (!(await executable(launcher))) {
    problems.push(`${launcherPath} is missing or not executable`);
    return layout;
  }
  const launcherText = await readFile(launcher, 'utf8').catch(() => '');
  const frontDir = LAUNCHER_PATH_LINE.exec(launcherText)?.[1];
  if (frontDir === undefined) {
    problems.push(`${launcher} is not a flox-k8s shim launcher (no PATH=<front dir>:$PATH line)`);
    return layout;
  }
  layout.frontDir = unquote(frontDir);
  const front = join(layout.frontDir, 'runc');
  if (!(await executable(front))) {
    problems.push(`the runc front ${front} the launcher names is missing or not executable`);
    return layout;
  }
  // A compiled front runs the sh front beside it, which names Node and the bundle.
  let script = front;
  if (await isElf(front)) {
    script = join(layout.frontDir, FRONT_SCRIPT_NAME);
    const config = join(layout.frontDir, FRONT_CONFIG_NAME);
    if (!/^patcher=/m.test(await readFile(config, 'utf8').catch(() => ''))) problems.push(`the compiled runc front's settings ${config} are missing or unreadable (the front then runs ${script} for every call)`);
    if (!(await executable(script))) {
      problems.push(`the sh runc front ${script} beside the compiled front ${front} is missing or not executable`);
      return layout;
    }
  }
  const frontText = await readFile(script, 'utf8').catch(() => '');
  const node = frontValue('node').exec(frontText)?.[1];
  const entry = frontValue('entry').exec(frontText)?.[1];
  if (node === undefined || entry === undefined) {
    problems.push(`${script} is not a flox-k8s runc front (no floxk8s_node / floxk8s_entry lines)`);
    return layout;
  }
  layout.node = unquote(node);
  layout.entry = unquote(entry);
  if (!(await executable(layout.node))) problems.push(`the Node binary ${layout.node} the runc front runs is missing or not executable`);
  if (!(await readable(layout.entry))) problems.push(`the interposer bundle ${layout.entry} the runc front runs is missing`);
  return layout;
}
