/**
 * Plans (see recorderPlans.ts) for calls that change names rather than bytes: rename, link,
 * unlink, mkdir (one event per level a recursive mkdir created), rmdir, rm (the unlinks and
 * rmdirs of the tree it removed, children first), copyFile and cp (creates and writes of the
 * bytes that arrived), mkdtemp; symlink under the root is refused. A name that moves across
 * the root's edge becomes creates (coming in) or removals (going out).
 */
import path from 'node:path';
import type { After, Plan } from './recorderPlans.js';
import type { RecorderState } from './recorderState.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The path argument under the root (never the root itself), or null. */
function inside(state: RecorderState, target: unknown): { abs: string; rel: string } | null {
  const abs = state.absOf(target);
  const rel = state.relOf(abs);
  return abs === null || rel === null || rel === '' ? null : { abs, rel };
}

const rename: Plan = (state, [fromArg, toArg]) => {
  const from = inside(state, fromArg);
  const to = inside(state, toArg);
  if (from !== null && to !== null) return () => state.emit({ kind: 'rename', from: from.rel, to: to.rel });
  if (from !== null) {
    const leaving = state.tree(from.abs);
    return () => state.emitRemoval(leaving);
  }
  if (to === null) return null;
  const replaced = state.tree(to.abs);
  return () => {
    state.emitRemoval(replaced);
    state.emitImport(to.abs, new Set());
  };
};

const link: Plan = (state, [existingArg, newArg]) => {
  const existing = inside(state, existingArg);
  const created = inside(state, newArg);
  if (created === null) return null;
  if (existing !== null) return () => state.emit({ kind: 'link', from: existing.rel, to: created.rel });
  // A second name of an inode from outside: to the trace it is a new file with those bytes.
  return () => state.emitImport(created.abs, new Set());
};

const unlink: Plan = (state, [target]) => {
  const name = inside(state, target);
  return name === null ? null : () => state.emit({ kind: 'unlink', path: name.rel });
};

const mkdir: Plan = (state, [target, options]) => {
  const name = inside(state, target);
  if (name === null) return null;
  const levels: string[] = [];
  if (isObject(options) && options['recursive'] === true) {
    for (let level = name.abs; state.relOf(level) !== '' && state.relOf(level) !== null && state.lstat(level) === null; level = path.dirname(level)) levels.unshift(level);
  } else {
    levels.push(name.abs);
  }
  return () => {
    for (const level of levels) {
      const stats = state.lstat(level);
      if (stats !== null) state.emit({ kind: 'mkdir', path: state.relOf(level) ?? '', ino: state.freshIno(stats) });
    }
  };
};

const mkdtemp: Plan = (state) => (created) => {
  const name = inside(state, created);
  if (name !== null) state.emit({ kind: 'mkdir', path: name.rel, ino: state.freshIno(state.original.lstatSync(name.abs)) });
};

const rm: Plan = (state, [target]) => {
  const name = inside(state, target);
  if (name === null) return null;
  const leaving = state.tree(name.abs);
  return () => state.emitRemoval(leaving);
};

const rmdir: Plan = (state, args) => {
  if (isObject(args[1]) && args[1]['recursive'] === true) return rm(state, args);
  const name = inside(state, args[0]);
  return name === null ? null : () => state.emit({ kind: 'rmdir', path: name.rel });
};

/** copyFile and cp: whatever arrived at the destination, as creates and writes of its bytes. */
const copy: Plan = (state, [, destArg]) => {
  const dest = inside(state, destArg);
  if (dest === null) return null;
  const before = new Set(state.tree(dest.abs).map((entry) => entry.rel));
  return () => state.emitImport(dest.abs, before);
};

const symlink: Plan = (state, [, pathArg]): After | null => {
  const name = state.relOf(state.absOf(pathArg));
  if (name !== null) throw state.refuse(`symlink at ${JSON.stringify(name)}`);
  return null;
};

export const NAMESPACE_PLANS = { rename, link, unlink, mkdir, mkdtemp, rm, rmdir, copyFile: copy, cp: copy, symlink };
