/**
 * Targets' packages (the engines crashlab tests, never its own dependencies) live in a cache
 * folder of their own and are installed there on first use: `CRASHLAB_TARGETS_DIR`, else
 * `$XDG_CACHE_HOME/crashlab/targets`, else `~/.cache/crashlab/targets`. That folder works for an
 * npm-installed crashlab too (its own package folder may be read-only), and every message
 * names it, so a user behind a proxy can install by hand.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';

/** An install may download and build: a bound, so a dead registry fails instead of hanging. */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

/** A target's package is missing and could not be installed; `code` is stable. */
export class TargetPackageError extends Error {
  readonly code = 'TARGET_PACKAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TargetPackageError';
  }
}

export function targetPackagesDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['CRASHLAB_TARGETS_DIR'];
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const cache = env['XDG_CACHE_HOME'] !== undefined && env['XDG_CACHE_HOME'] !== '' ? env['XDG_CACHE_HOME'] : path.join(os.homedir(), '.cache');
  return path.join(cache, 'crashlab', 'targets');
}

/** The installed version of `name` under `dir`, or null when it is not there. */
export function installedVersion(dir: string, name: string): string | null {
  const manifest = path.join(dir, 'node_modules', name, 'package.json');
  if (!fs.existsSync(manifest)) return null;
  const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: unknown };
  return typeof parsed.version === 'string' ? parsed.version : null;
}

/**
 * The folder of package `name` at exactly `version`, installed into the cache folder first
 * when it is missing or at another version (`install: false` only reports it missing). A lock
 * on the folder lets parallel test workers and shards share one install.
 */
export async function ensureTargetPackage(name: string, version: string, options: { install?: boolean; dir?: string } = {}): Promise<string> {
  if (!/^(@[a-z0-9-]+\/)?[a-z0-9.-]+$/.test(name)) throw new TypeError(`not a package name: ${JSON.stringify(name)}`);
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new TypeError(`a target's package version must be exact, not ${JSON.stringify(version)}`);
  const dir = options.dir ?? targetPackagesDir();
  const packageDir = path.join(dir, 'node_modules', name);
  if (installedVersion(dir, name) === version) return packageDir;
  const command = `npm install --prefix ${dir} --no-audit --no-fund --save-exact ${name}@${version}`;
  if (options.install === false) throw new TargetPackageError(`${name}@${version} is not installed in ${dir}: run ${command} (or set CRASHLAB_TARGETS_DIR)`);
  fs.mkdirSync(dir, { recursive: true });
  const release = await lockfile.lock(dir, { retries: { retries: 600, minTimeout: 100, maxTimeout: 1000 }, stale: INSTALL_TIMEOUT_MS });
  try {
    if (installedVersion(dir, name) !== version) install(dir, name, version, command);
  } finally {
    await release();
  }
  return packageDir;
}

function install(dir: string, name: string, version: string, command: string): void {
  if (!fs.existsSync(path.join(dir, 'package.json'))) fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true, "description": "crashlab targets (installed on demand)" }\n');
  process.stderr.write(`crashlab: installing the target package ${name}@${version} into ${dir}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--save-exact', `${name}@${version}`],
    { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0 || installedVersion(dir, name) !== version) {
    const reason = result.error?.message ?? (result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${String(result.status)}`);
    throw new TargetPackageError(`could not install ${name}@${version} into ${dir} (${reason}); install it by hand: ${command}`, { cause: result.error });
  }
}

