/**
 * `context.load(specifier)` for node-fs adapters, the same in the traced child and in the
 * recovery worker: `specifier` is one of the adapter's packages (`lowdb`) or an exported
 * subpath of one (`lowdb/node`); the package is loaded from the folder it was installed in
 * (the targets' cache folder, or any folder a test names), never from crashlab's node_modules.
 * The entry is found from the package's `exports` (the subpath, then the conditions node,
 * import, default, require), else `main`, else index.js. The file reads go through `fsCalls`,
 * so the traced child can use the unrecorded originals.
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface FsCalls {
  readFileSync(file: string, encoding: 'utf8'): string;
  statSync(file: string, options: { throwIfNoEntry: false }): { isFile(): boolean } | undefined;
}

/** `@scope/name/sub` → [`@scope/name`, `./sub`]; `name` → [`name`, `.`]. */
export function splitSpecifier(specifier: string): [string, string] {
  const parts = specifier.split('/');
  const nameParts = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameParts).join('/');
  const rest = parts.slice(nameParts);
  return [name, rest.length === 0 ? '.' : `./${rest.join('/')}`];
}

function exportsTarget(value: unknown, subpath: string): string | null {
  if (typeof value === 'string') return subpath === '.' ? value : null;
  if (Array.isArray(value)) return value.map((item) => exportsTarget(item, subpath)).find((target) => target !== null) ?? null;
  if (typeof value !== 'object' || value === null) return null;
  const conditions = value as Record<string, unknown>;
  if (Object.keys(conditions).some((key) => key.startsWith('.'))) return subpath in conditions ? exportsTarget(conditions[subpath], '.') : null;
  for (const condition of ['node', 'import', 'default', 'require']) {
    const target = condition in conditions ? exportsTarget(conditions[condition], subpath) : null;
    if (target !== null) return target;
  }
  return null;
}

/** The file `import(specifier)` would load from package folder `dir`. */
export function packageEntry(dir: string, subpath: string, fsCalls: FsCalls = nodeFs): string {
  const manifest = JSON.parse(fsCalls.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { exports?: unknown; main?: unknown };
  const exported = manifest.exports === undefined ? null : exportsTarget(manifest.exports, subpath);
  if (manifest.exports !== undefined && exported === null) throw new Error(`package folder ${dir} exports no ${JSON.stringify(subpath)}`);
  const entry = exported ?? (subpath !== '.' ? subpath : typeof manifest.main === 'string' ? manifest.main : 'index.js');
  const candidates = [entry, `${entry}.js`, path.join(entry, 'index.js')].map((candidate) => path.resolve(dir, candidate));
  const found = candidates.find((candidate) => fsCalls.statSync(candidate, { throwIfNoEntry: false })?.isFile() === true);
  if (found === undefined) throw new Error(`package folder ${dir} has no entry file (tried ${candidates.join(', ')})`);
  return found;
}

/** Imports `specifier` from the package folders `packages` (name → folder). */
export async function loadPackage(packages: Readonly<Record<string, string>>, specifier: string, fsCalls: FsCalls = nodeFs): Promise<unknown> {
  const [name, subpath] = splitSpecifier(specifier);
  const dir = packages[name];
  if (dir === undefined) throw new Error(`package ${JSON.stringify(name)} is not among the adapter's packages (${Object.keys(packages).join(', ') || 'none'})`);
  return import(pathToFileURL(packageEntry(dir, subpath, fsCalls)).href);
}

/** The function a CommonJS package exports, whether `import()` gives it as is or as `default`. */
export function exportedFunction<T>(loaded: unknown): T {
  const value = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown } | null)?.default;
  if (typeof value !== 'function') throw new TypeError('the package exports no function');
  return value as T;
}
