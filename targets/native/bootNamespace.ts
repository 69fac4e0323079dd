/**
 * A fresh boot identity for recovery, as after a real power cut: lmdb-js's overlappingSync
 * trusts a meta page it has not flushed yet while the boot id it stored with it is the
 * current one (mdb.c: `latest->boot_id == env->boot_id`), so recovering in the capture's boot
 * would trust what a crash loses. Each recovery process runs under `unshare -m` (a private
 * mount namespace) with a bind mount of a new id over /proc/sys/kernel/random/boot_id. The id
 * is derived from the campaign's seed and a counter (deterministic, never Math.random).
 *
 * A note on what lmdb then reads: it takes the id only from procfs (it checks fstatfs's type),
 * so over the bind mount it reads none (0), which differs from every real boot's id: the same
 * verdict as a new boot. When the machine refuses the namespace or the mount, the run fails
 * with NO_BOOT_NAMESPACE and the reason; it is never silently skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Prng } from '../../fault/prng.js';
import { NativeError } from './nativeError.js';

export const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';
/** The `unshare` to run (a test points it at one that cannot work, to see the run fail with the reason). */
const UNSHARE = process.env['CRASHLAB_UNSHARE'] ?? 'unshare';
const MOUNT_AND_EXEC = `mount --bind "$0" ${BOOT_ID_FILE} && exec "$@"`;
let checked: NativeError | null | undefined;

/** Throws NO_BOOT_NAMESPACE unless a private mount namespace can show a new boot id (checked once). */
export function checkBootNamespace(scratchDir: string): void {
  if (checked === undefined) {
    const file = path.join(scratchDir, 'boot-id-probe');
    const id = bootId(new Prng(1));
    fs.writeFileSync(file, `${id}\n`);
    const probe = spawnSync(UNSHARE, ['-m', '--', 'sh', '-c', MOUNT_AND_EXEC, file, 'cat', BOOT_ID_FILE], { encoding: 'utf8', timeout: 30_000 });
    fs.rmSync(file, { force: true });
    const reason = probe.error?.message ?? (probe.status !== 0 ? probe.stderr.trim() || `exit ${String(probe.status)}` : probe.stdout.trim() !== id ? `the namespace showed ${probe.stdout.trim()}` : null);
    checked = reason === null ? null : new NativeError('NO_BOOT_NAMESPACE', `this target trusts the boot identity, so its recovery needs a fresh boot id (unshare -m and a bind mount over ${BOOT_ID_FILE}, as root), which this machine refuses: ${reason}`);
  }
  if (checked !== null) throw checked;
}

/** `xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx` from the PRNG. */
function bootId(prng: Prng): string {
  const hex = Array.from({ length: 4 }, () => prng.nextU32().toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The command prefix for one recovery process: its own namespace and a new id, written under `scratchDir`. */
export function freshBootPrefix(scratchDir: string, seed: number): () => readonly string[] {
  const prng = new Prng(seed >>> 0);
  let count = 0;
  return () => {
    const file = path.join(scratchDir, `boot-id-${count++}`);
    fs.writeFileSync(file, `${bootId(prng)}\n`);
    return [UNSHARE, '-m', '--', 'sh', '-c', MOUNT_AND_EXEC, file];
  };
}
