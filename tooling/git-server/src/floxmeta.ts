// FloxHub's git-backed environments, made with the real git CLI the way the Flox CLI
// writes them (flox/flox cli/flox-rust-sdk/src/models/environment/generations.rs):
// a bare `<root>/<owner>/floxmeta` repository, a branch per environment named exactly
// like it, and on each branch `metadata.json` plus `<N>/env/manifest.toml` and
// `<N>/env/manifest.lock` for every generation N.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from './git.ts';

/** One entry of `metadata.json`'s history (Flox's `HistorySpec`, serialised as serde does). */
export interface FloxHistoryEntry {
  kind: string;
  targets?: string[];
  summary?: string;
  author: string;
  hostname: string;
  command?: string[];
  timestamp: number;
  current_generation: string;
  previous_generation?: string;
  [other: string]: unknown;
}

/** `metadata.json` version 2 (Flox's `AllGenerationsMetadata`). */
export interface FloxMetadata {
  version: 2;
  history: FloxHistoryEntry[];
  total_generations: number;
}

export interface GenerationFiles {
  /** `manifest.lock` bytes; omitted for a generation without a lockfile (Flox allows it). */
  lockfile?: Uint8Array | string;
  /** `manifest.toml` text (default: a minimal `version = 1` manifest). */
  manifest?: string;
  /** History kind (default `edit`). */
  kind?: string;
}

/** A file to write (bytes or text) or delete (`null`) in a raw commit. */
export type FileChange = Uint8Array | string | null;

const METADATA = 'metadata.json';
const DEFAULT_MANIFEST = 'version = 1\n';

/** FloxHub-style floxmeta repositories under `root` (serve them with `serveGit({ root })`). */
export class FloxmetaRemote {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  /** The bare repository of an owner: `<root>/<owner>/floxmeta`. */
  repo(owner: string): string {
    return join(this.root, owner, 'floxmeta');
  }

  /** Creates the owner's bare floxmeta repository (HEAD left unborn, as on a server). */
  async createOwner(owner: string): Promise<void> {
    await mkdir(join(this.root, owner), { recursive: true });
    await git(['init', '--quiet', '--bare', '--initial-branch=main', this.repo(owner)]);
  }

  /** The branch tip of an environment, or undefined when the branch does not exist. */
  async head(owner: string, name: string): Promise<string | undefined> {
    return git(['--git-dir', this.repo(owner), 'rev-parse', '--verify', '--quiet', `refs/heads/${name}^{commit}`]).catch(() => undefined);
  }

  /** Starts an environment branch the way `Generations::init` does: metadata with no generations. */
  async initEnvironment(owner: string, name: string): Promise<string> {
    const metadata: FloxMetadata = { version: 2, history: [], total_generations: 0 };
    return this.commitFiles(owner, name, { [METADATA]: JSON.stringify(metadata) }, `Initialize generations branch for environment '${name}'`);
  }

  /** The branch's parsed `metadata.json`. */
  async metadata(owner: string, name: string): Promise<FloxMetadata> {
    return JSON.parse(await git(['--git-dir', this.repo(owner), 'show', `refs/heads/${name}:${METADATA}`])) as FloxMetadata;
  }

  /**
   * Adds generation `total_generations + 1` and makes it live, as `add_generation` does:
   * files under `<N>/env/`, a history entry, one commit "Create generation N".
   */
  async addGeneration(owner: string, name: string, files: GenerationFiles): Promise<{ generation: number; commit: string }> {
    if ((await this.head(owner, name)) === undefined) await this.initEnvironment(owner, name);
    const metadata = await this.metadata(owner, name);
    const previous = liveGeneration(metadata);
    const generation = metadata.total_generations + 1;
    const kind = files.kind ?? 'edit';
    metadata.history.push({
      kind,
      author: 'flox-k8s-test',
      hostname: 'test-host',
      command: ['flox', 'edit'],
      timestamp: 1_700_000_000 + generation,
      current_generation: String(generation),
      ...(previous === undefined ? {} : { previous_generation: String(previous) }),
    });
    metadata.total_generations = generation;
    const changes: Record<string, FileChange> = {
      [METADATA]: JSON.stringify(metadata),
      [`${generation}/env/manifest.toml`]: files.manifest ?? DEFAULT_MANIFEST,
    };
    if (files.lockfile !== undefined) changes[`${generation}/env/manifest.lock`] = files.lockfile;
    const commit = await this.commitFiles(owner, name, changes, `Create generation ${generation}\n\nmanually edited the manifest`);
    return { generation, commit };
  }

  /** Makes an existing generation live again (`flox generations switch`): metadata only. */
  async switchGeneration(owner: string, name: string, generation: number): Promise<string> {
    const metadata = await this.metadata(owner, name);
    const previous = liveGeneration(metadata);
    metadata.history.push({
      kind: 'switch_generation',
      author: 'flox-k8s-test',
      hostname: 'test-host',
      timestamp: 1_800_000_000 + metadata.history.length,
      current_generation: String(generation),
      ...(previous === undefined ? {} : { previous_generation: String(previous) }),
    });
    return this.commitFiles(owner, name, { [METADATA]: JSON.stringify(metadata) }, `changed current generation ${previous} -> ${generation}`);
  }

  /**
   * Commits raw changes on top of the branch (or as its first commit) with git's plumbing
   * and a private index: malformed metadata, broken lockfiles, whatever a test needs.
   */
  async commitFiles(owner: string, name: string, changes: Record<string, FileChange>, message: string): Promise<string> {
    const gitDir = this.repo(owner);
    const parent = await this.head(owner, name);
    const scratch = await mkdtemp(join(tmpdir(), 'flox-floxmeta-index-'));
    try {
      const env = { GIT_INDEX_FILE: join(scratch, 'index') };
      const run = (args: string[], input?: string | Uint8Array): Promise<string> => git(['--git-dir', gitDir, ...args], { env, ...(input === undefined ? {} : { input }) });
      await run(parent === undefined ? ['read-tree', '--empty'] : ['read-tree', parent]);
      for (const [path, content] of Object.entries(changes)) {
        if (content === null) {
          await run(['update-index', '--force-remove', '--', path]);
        } else {
          const blob = await run(['hash-object', '-w', '--stdin'], content);
          await run(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`]);
        }
      }
      const tree = await run(['write-tree']);
      const commit = await run(['commit-tree', tree, ...(parent === undefined ? [] : ['-p', parent]), '-m', message]);
      await run(['update-ref', `refs/heads/${name}`, commit, parent ?? '']);
      return commit;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Rewrites the branch's history (a force push): the same tree in a new parentless
   * commit, so the old tip is no longer reachable from any ref.
   */
  async rewriteHistory(owner: string, name: string): Promise<string> {
    const gitDir = this.repo(owner);
    const tip = await this.head(owner, name);
    if (tip === undefined) throw new Error(`no branch ${name} in ${gitDir}`);
    const tree = await git(['--git-dir', gitDir, 'rev-parse', `${tip}^{tree}`]);
    const commit = await git(['--git-dir', gitDir, 'commit-tree', tree, '-m', `rewritten at ${Date.now()}`]);
    await git(['--git-dir', gitDir, 'update-ref', `refs/heads/${name}`, commit, tip]);
    // Drop the old commits for good, as a server's gc would.
    await git(['--git-dir', gitDir, 'reflog', 'expire', '--expire=now', '--all']);
    await git(['--git-dir', gitDir, 'gc', '--quiet', '--prune=now']);
    return commit;
  }

  /** Removes an environment branch. */
  async deleteEnvironment(owner: string, name: string): Promise<void> {
    await git(['--git-dir', this.repo(owner), 'update-ref', '-d', `refs/heads/${name}`]);
  }
}

/** The live generation as Flox reads it: the last history entry's `current_generation`. */
export function liveGeneration(metadata: FloxMetadata): number | undefined {
  const last = metadata.history.at(-1);
  return last === undefined ? undefined : Number(last.current_generation);
}
