/**
 * The child strace runs (captureSyscalls.ts; config in CRASHLAB_NATIVE_CONFIG): loads the
 * native adapter, opens the engine on the traced root, applies the workload with a marker line
 * (`issued N`, `acked N`) written to the marker file before and after each transaction (one
 * write(2) each, so strace puts them among the engine's own calls), closes, and writes a result
 * JSON for the parent. Nothing here touches the root but the engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPackage } from '../nodefs/packageLoader.js';
import { workloadFromJson, type ChildResult } from '../nodefs/traceProtocol.js';
import { runWorkload } from '../nodefs/workloadRunner.js';
import { defineNativeAdapter, type NativeAdapter } from './nativeAdapter.js';

export const NATIVE_CONFIG_ENV = 'CRASHLAB_NATIVE_CONFIG';

export interface NativeChildConfig {
  readonly root: string;
  readonly seed: number;
  readonly adapterModule: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly workloadFile: string;
  readonly resultFile: string;
  readonly markerFile: string;
}

async function loadAdapter(specifier: string): Promise<NativeAdapter> {
  const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
  const loaded = await import(url) as { default?: unknown };
  return defineNativeAdapter(loaded.default as NativeAdapter);
}

async function main(config: NativeChildConfig): Promise<ChildResult> {
  const markerFd = fs.openSync(config.markerFile, 'a');
  const failure = await runWorkload({
    open: async () => (await loadAdapter(config.adapterModule)).open(config.root, { seed: config.seed, load: (specifier) => loadPackage(config.packages, specifier) }),
    workload: workloadFromJson(fs.readFileSync(config.workloadFile, 'utf8')),
    marker: (marker, txn) => fs.writeSync(markerFd, `${marker} ${txn}\n`),
  });
  fs.closeSync(markerFd);
  return failure === null ? { status: 'ok' } : { status: 'library-error', ...failure };
}

if (process.env[NATIVE_CONFIG_ENV] !== undefined) {
  const config = JSON.parse(process.env[NATIVE_CONFIG_ENV]) as NativeChildConfig;
  const result = await main(config);
  fs.writeFileSync(config.resultFile, JSON.stringify(result));
  // Threads or handles the engine left behind must not keep the child (and the parent's timeout) waiting.
  process.exit(0);
}
