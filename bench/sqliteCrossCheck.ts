// The SQLite cross-check: for each configuration, the WebAssembly target (sqlite:<config>, wa-sqlite
// through crashlab's Vfs) and the native one (better-sqlite3:<config>, traced by strace) are run
// with the same explicit pragmas, schema and statements, one class of crash plan at a time
// (survival none, all, prefix, subset, with the Vfs side's unsynced directory entries matched to
// the class: none kept, all kept, some; nothing torn in `all`; no injected errors on the Vfs side, which the trace tier
// cannot inject), judged with --contract none so every finding is counted; the verdict of a row is
// whether any finding breaks the configuration's documented contract, and whether any breaks
// `durable`. Both SQLite versions are printed. Figures, never assertions.
//   node dist/bench/sqliteCrossCheck.js [--configs wal-full,wal-normal,...] [--survivals none,all,...] [--runs N] [--seed S] [--json]
import { parseArgs } from 'node:util';
import { runNodeFsCampaign } from '../properties/runNodeFsCampaign.js';
import { runTargetCampaign } from '../properties/runTargetCampaign.js';
import { breaks } from '../properties/targetCrashCase.js';
import { driverOf, installAdapterPackages } from '../cli/nodeFsRun.js';
import { loadPackage, exportedFunction } from '../targets/nodefs/packageLoader.js';
import { resolveAnyTarget, resolveTarget, type NativeTarget } from '../targets/registry.js';
import type { ContractLevel, TargetContract } from '../targets/target.js';
import type { ViolationKind } from '../recovery/classify.js';
import { benchMain } from './benchMain.js';

const SURVIVALS = ['none', 'all', 'prefix', 'subset'] as const;
/**
 * The Vfs plan's directory entries that match each trace plan class: the trace model's `none`
 * keeps no unsynced name, `all` every one, `prefix` and `subset` draw names with the data.
 */
const DIR_OPS = { none: [false], all: [true], prefix: ['some'], subset: ['some'] } as const;
/** The trace model's `all` is a process crash: nothing torn (the Vfs plan would tear surviving writes). */
const TEARS = { none: [false, true], all: [false], prefix: [false, true], subset: [false, true] } as const;
const DEFAULT_CONFIGS = ['wal-full', 'wal-normal', 'wal-default', 'delete-full', 'delete-extra', 'truncate-full', 'delete-off'];
/** better-sqlite3's library defaults (WAL, its compiled-in synchronous NORMAL) compare with sqlite:wal-normal. */
const wasmConfigOf = (config: string): string => (config === 'wal-default' ? 'wal-normal' : config);

interface Side { readonly findings: Readonly<Record<string, number>>; readonly images: number; readonly declared: boolean; readonly durable: boolean }

function verdicts(findings: Readonly<Record<string, number>>, contract: TargetContract): Pick<Side, 'declared' | 'durable'> {
  const kinds = Object.keys(findings) as ViolationKind[];
  const any = (level: ContractLevel): boolean => kinds.some((kind) => breaks(level, kind, contract));
  return { declared: any(contract.level), durable: any('durable') };
}

async function nativeSqliteVersion(packages: Readonly<Record<string, string>>): Promise<string> {
  const Database = exportedFunction<new (file: string) => { prepare(sql: string): { pluck(): { get(): unknown } }; close(): void }>(await loadPackage(packages, 'better-sqlite3'));
  const db = new Database(':memory:');
  const version = String(db.prepare('SELECT sqlite_version()').pluck().get());
  db.close();
  return version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { configs: { type: 'string' }, survivals: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const survivals = (values.survivals?.split(',') ?? SURVIVALS) as Array<(typeof SURVIVALS)[number]>;
  const configs = values.configs?.split(',') ?? DEFAULT_CONFIGS;
  const runs = Number(values.runs ?? 8);
  const seed = Number(values.seed ?? 20261203);
  const rows: Array<Record<string, unknown>> = [];
  let versions: string | null = null;
  for (const config of configs) {
    const wasm = resolveTarget(`sqlite:${wasmConfigOf(config)}`);
    const native = resolveAnyTarget(`better-sqlite3:${config}`) as NativeTarget;
    const packages = await installAdapterPackages(native.adapter);
    versions ??= `wa-sqlite: ${await wasm.identity()}; better-sqlite3 ${Object.values(native.adapter.packages)[0]}: SQLite ${await nativeSqliteVersion(packages)}`;
    if (versions !== null && rows.length === 0) console.log(versions);
    for (const survival of survivals) {
      const w = await runTargetCampaign({ target: wasm, targetFlag: `--target ${wasm.name}`, seed, numRuns: runs, contract: 'none', survivals: [survival], injectErrors: false, dirOps: DIR_OPS[survival], tears: TEARS[survival] });
      const n = await runNodeFsCampaign({
        adapter: native.adapter, adapterModule: native.module, targetFlag: `--target better-sqlite3:${config}`, packages, fsModel: 'posix', seed, numRuns: runs, contract: 'none',
        survivals: [survival], driver: driverOf(native, packages, seed),
      });
      const wasmSide: Side = { findings: w.findings, images: w.crashImages, ...verdicts(w.findings, wasm.contract) };
      const nativeSide: Side = { findings: n.findings, images: n.crashImages, ...verdicts(n.findings, native.adapter.contract) };
      const row = { config, survival, contract: wasm.contract.level, wasm: wasmSide, native: nativeSide, agree: wasmSide.declared === nativeSide.declared && wasmSide.durable === nativeSide.durable };
      rows.push(row);
      const show = (side: Side): string => `${side.declared ? 'VIOLATES' : 'keeps'} ${wasm.contract.level}, ${side.durable ? 'breaks' : 'keeps'} durable (${side.images} images; ${Object.entries(side.findings).map(([k, v]) => `${k} ${v}`).join(', ') || 'no findings'})`;
      console.log(`| ${config}${config === wasmConfigOf(config) ? '' : ` (sqlite:${wasmConfigOf(config)})`} | ${survival} | ${show(wasmSide)} | ${show(nativeSide)} | ${row.agree ? 'yes' : 'NO'} |`);
    }
  }
  if (values.json) console.log(JSON.stringify({ seed, runs, versions, rows }));
}

await benchMain(import.meta.url, main);
