/**
 * The native tier's capture and recovery, in the shape the traced campaign takes
 * (properties/runNodeFsCampaign.ts `TracedDriver`): capture is strace on a fresh child per case
 * (captureSyscalls.ts); recovery reuses the node-fs tier's pool (targets/nodefs/recoveryPool.ts)
 * with PROCESSES instead of threads, as after a reboot: a fresh process per batch of images,
 * each image laid out at a path of its own and opened, read and closed before the next, the
 * process recycled every `NATIVE_BATCH_IMAGES` (the canary test puts a known-bad image inside a
 * batch and expects it still to fail). An engine that trusts the boot identity recovers under a
 * fresh boot id (bootNamespace.ts), or the run fails with the reason.
 */
import fs from 'node:fs';
import type { CaptureResult } from '../nodefs/captureTrace.js';
import { RecoveryPool, type ImageRecoverer } from '../nodefs/recoveryPool.js';
import { makeScratchDir } from '../nodefs/scratchDir.js';
import type { TargetTxn } from '../target.js';
import { checkBootNamespace, freshBootPrefix } from './bootNamespace.js';
import { captureSyscalls, ensureStrace } from './captureSyscalls.js';
import type { NativeAdapter } from './nativeAdapter.js';

/** Images one recovery process recovers before it is replaced by a fresh one. */
export const NATIVE_BATCH_IMAGES = 256;
/** A workload the engine has not finished in this long is hung (the child is killed). */
const CAPTURE_TIMEOUT_MS = 120_000;

export interface NativeDriverOptions {
  readonly adapter: NativeAdapter;
  readonly adapterModule: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly seed: number;
  readonly workers?: number | undefined;
  readonly batchImages?: number | undefined;
}

export interface NativeDriver {
  readonly pool: () => ImageRecoverer;
  readonly capture: (txns: readonly TargetTxn[], seed: number) => Promise<CaptureResult>;
}

export function nativeDriver(options: NativeDriverOptions): NativeDriver {
  ensureStrace();
  return {
    pool: () => nativeRecoveryPool(options),
    capture: (txns, seed) => captureSyscalls({
      adapterModule: options.adapterModule, packages: options.packages, volatileFiles: options.adapter.contract.volatileFiles, workload: txns, seed, timeoutMs: CAPTURE_TIMEOUT_MS,
    }),
  };
}

/** Recovery in processes (under a fresh boot id when the engine trusts it). */
export function nativeRecoveryPool(options: NativeDriverOptions): ImageRecoverer {
  const bootDir = makeScratchDir('crashlab-boot-');
  let prefix: () => readonly string[] = () => [];
  try {
    if (options.adapter.freshBootId) {
      checkBootNamespace(bootDir);
      prefix = freshBootPrefix(bootDir, options.seed);
    }
  } catch (error) {
    fs.rmSync(bootDir, { recursive: true, force: true });
    throw error;
  }
  const pool = new RecoveryPool({
    adapterModule: options.adapterModule, packages: options.packages, seed: options.seed, workers: options.workers,
    recycleAfterImages: options.batchImages ?? NATIVE_BATCH_IMAGES, process: { prefix },
  });
  return {
    recoverAll: (images) => pool.recoverAll(images),
    async close() {
      await pool.close();
      fs.rmSync(bootDir, { recursive: true, force: true });
    },
  };
}
