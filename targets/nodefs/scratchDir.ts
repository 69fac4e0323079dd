/**
 * Scratch folders of the node-fs tier (traced roots, recovered images): on tmpfs when the
 * machine has one, since their bytes never need to outlive the process and a real disk's fsync
 * costs milliseconds that a trace or an image does not need (the crash model, not the disk,
 * decides what an fsync made durable); else in the temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TMPFS = '/dev/shm';

export function makeScratchDir(prefix: string): string {
  try {
    fs.accessSync(TMPFS, fs.constants.W_OK);
    return fs.mkdtempSync(path.join(TMPFS, prefix));
  } catch {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }
}
