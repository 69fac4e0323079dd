/**
 * The completeness self-check both traced tiers share (node-fs: childMain.ts; native:
 * targets/native/captureSyscalls.ts): the trace replayed whole must give the folder the run
 * left, byte for byte, or some I/O went around the trace and the run is a harness fault. The
 * folder is read through `fsCalls` (the traced child passes the unrecorded originals) and files
 * the target declares volatile are left out on both sides.
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import type { DirImage } from '../../fault/trace.js';

export interface WalkCalls {
  readdirSync(dir: string): string[];
  lstatSync(file: string): { isDirectory(): boolean; isFile(): boolean };
  readFileSync(file: string): Uint8Array;
}

/** The folder as it is on disk, in DirImage form; `others` are neither files nor directories. */
export function diskImage(root: string, fsCalls: WalkCalls = nodeFs, skip: (rel: string) => boolean = () => false): DirImage & { others: Set<string> } {
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>();
  const others = new Set<string>();
  const walk = (abs: string, rel: string): void => {
    for (const name of fsCalls.readdirSync(abs).sort()) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (skip(childRel)) continue;
      const stats = fsCalls.lstatSync(childAbs);
      if (stats.isDirectory()) {
        dirs.add(childRel);
        walk(childAbs, childRel);
      } else if (stats.isFile()) files.set(childRel, new Uint8Array(fsCalls.readFileSync(childAbs)));
      else others.add(childRel);
    }
  };
  walk(root, '');
  return { files, dirs, others };
}

/** The first path (in sorted order) where the trace's replay and the disk differ, with why; null when equal. */
export function firstDifference(traced: DirImage, disk: ReturnType<typeof diskImage>): { path: string; why: string } | null {
  const kind = (image: DirImage, name: string): string => (image.dirs.has(name) ? 'a directory' : image.files.has(name) ? 'a file' : 'missing');
  const names = [...new Set([...traced.files.keys(), ...traced.dirs, ...disk.files.keys(), ...disk.dirs, ...disk.others])].sort();
  for (const name of names) {
    if (disk.others.has(name)) return { path: name, why: 'is neither a file nor a directory on disk' };
    const inTrace = kind(traced, name);
    const onDisk = kind(disk, name);
    if (inTrace !== onDisk) return { path: name, why: `is ${inTrace} in the trace but ${onDisk} on disk` };
    const a = traced.files.get(name);
    const b = disk.files.get(name);
    if (a !== undefined && b !== undefined && Buffer.compare(a, b) !== 0) return { path: name, why: `has ${a.length} bytes in the trace and ${b.length} different ones on disk` };
  }
  return null;
}
