/**
 * The engine's source hash: SHA-256 over its TypeScript sources (sorted by name), or over the
 * compiled JavaScript when the sources are not beside it. A failure record and a certificate
 * carry it, so a person can tell whether they speak of the same engine.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/cli/engineHash.js → the repository root (two levels up). */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function engineSourceHash(root: string = repoRoot()): string {
  const sources = path.join(root, 'engine');
  const compiled = path.join(root, 'dist', 'engine');
  const [dir, suffix] = fs.existsSync(sources) ? [sources, '.ts'] : [compiled, '.js'];
  const hash = createHash('sha256');
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(suffix) && !n.endsWith('.d.ts')).sort()) {
    hash.update(`${name}\0`);
    hash.update(fs.readFileSync(path.join(dir, name)));
  }
  return hash.digest('hex');
}
