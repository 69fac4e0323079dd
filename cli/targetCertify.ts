/**
 * `crashlab certify --target NAME | --adapter FILE`: certifies a target other than the
 * reference engine within a time budget and writes target-certificate.json and
 * target-certificate.md. The certificate names the target by its identity (package versions,
 * SQLite version and wasm hash, the adapter file's hash), not by crashlab's engine sources, so a
 * changed library or adapter is a different certificate.
 *
 * Cells: a Vfs target (SQLite, a user's) runs one cell of every crash plan with injected
 * errors drawn in; a node-fs target runs a cell per file-system model (posix, ext4). Each cell
 * gets an equal share of the budget and runs chunks of cases under seeds derived from (seed,
 * cell, chunk) until its share is used, at least one chunk. Exit 0 only when no cell found a
 * violation of the target's declared contract (or of `--contract LEVEL`, a stronger one).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FS_MODELS } from '../fault/traceCrash.js';
import { runNodeFsCampaign } from '../properties/runNodeFsCampaign.js';
import { SEED_MAX } from '../properties/runDifferential.js';
import { deriveSeed } from '../properties/shard.js';
import { loadAnyAdapter, resolveAnyTarget, type AnyTarget } from '../targets/registry.js';
import { CONTRACT_LEVELS, type ContractLevel } from '../targets/target.js';
import { DEFAULT_CERTIFICATE_DIR } from './args.js';
import { driverOf, installAdapterPackages, nodeFsIdentity } from './nodeFsRun.js';
import { DEFAULT_HANG_TIMEOUT_SECONDS, integer, runTargetCases, Usage } from './targetCommand.js';
import { sumFindings } from './targetJobs.js';

export const TARGET_CERTIFICATE_FORMAT = 'crashlab-target-certificate/1';
const DEFAULT_BUDGET_SECONDS = 120;
const CASES_PER_CHUNK = 20;
/** A bound on chunks per cell, whatever the budget: a fast target cannot loop forever. */
const MAX_CHUNKS_PER_CELL = 10_000;

export interface TargetCertificateCell {
  readonly name: string;
  readonly cases: number;
  readonly crashImages: number;
  readonly violations: number;
  readonly findings: Readonly<Record<string, number>>;
  readonly failure: { readonly kind: string; readonly detail: string; readonly replay: string } | null;
}

export interface TargetCertificate {
  readonly format: typeof TARGET_CERTIFICATE_FORMAT;
  readonly target: string;
  readonly tier: 'vfs' | 'node-fs' | 'native';
  readonly identity: string;
  readonly contract: string;
  readonly seed: number;
  readonly budgetSeconds: number;
  readonly elapsedSeconds: number;
  readonly cells: readonly TargetCertificateCell[];
  readonly ok: boolean;
}

type CellRunner = (seed: number) => Promise<Omit<TargetCertificateCell, 'name'>>;

export async function targetCertifyCommand(argv: readonly string[], drawSeed: () => number): Promise<number> {
  const { values } = parseArgs({
    args: [...argv.slice(1)], strict: true, allowPositionals: false,
    options: { target: { type: 'string' }, adapter: { type: 'string' }, budget: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, contract: { type: 'string' } },
  });
  if ((values.target === undefined) === (values.adapter === undefined)) throw new Usage('certify a target with exactly one of --target NAME or --adapter FILE');
  const asked = values.contract as ContractLevel | undefined;
  if (asked !== undefined && !CONTRACT_LEVELS.includes(asked)) throw new Usage(`--contract wants one of ${CONTRACT_LEVELS.join(', ')}, not ${JSON.stringify(values.contract)}`);
  const budgetSeconds = integer(values.budget, '--budget', 1, 86_400) ?? DEFAULT_BUDGET_SECONDS;
  const seed = integer(values.seed, '--seed', 0, SEED_MAX) ?? drawSeed();
  const resolved = values.adapter !== undefined ? await loadAnyAdapter(values.adapter) : resolveAnyTarget(values.target!);
  const targetFlag = values.adapter !== undefined ? `--adapter ${values.adapter}` : `--target ${values.target}`;
  const { name, identity, contract, cells } = await cellsOf(resolved, targetFlag, values.adapter, asked);
  console.log(`crashlab certify ${targetFlag}: seed ${seed}, budget ${budgetSeconds} s, ${cells.length} cells (${identity})`);
  const startedMs = performance.now();
  const results: TargetCertificateCell[] = [];
  for (const [index, [cellName, run]] of cells.entries()) {
    const shareMs = ((budgetSeconds * 1000) - (performance.now() - startedMs)) / (cells.length - index);
    const cell = await runCell(cellName, run, deriveSeed(seed, index), shareMs);
    console.log(`  ${cellName}: ${cell.cases} cases, ${cell.crashImages} crash images, ${cell.violations} violations${cell.failure === null ? '' : ` (${cell.failure.kind}; replay: ${cell.failure.replay})`}`);
    results.push(cell);
  }
  const certificate: TargetCertificate = {
    format: TARGET_CERTIFICATE_FORMAT, target: name, tier: resolved.tier, identity, contract, seed, budgetSeconds,
    elapsedSeconds: Math.round((performance.now() - startedMs) / 100) / 10, cells: results, ok: results.every((cell) => cell.violations === 0),
  };
  const out = values.out ?? DEFAULT_CERTIFICATE_DIR;
  const written = writeTargetCertificate(certificate, out);
  console.log(`${certificate.ok ? 'certified' : 'NOT certified'}: wrote ${written.json} and ${written.markdown}`);
  return certificate.ok ? 0 : 1;
}

/** Runs chunks of one cell until its share of the budget is used (at least one chunk). */
async function runCell(name: string, run: CellRunner, seed: number, shareMs: number): Promise<TargetCertificateCell> {
  const startedMs = performance.now();
  const chunks: Array<Omit<TargetCertificateCell, 'name'>> = [];
  for (let chunk = 0; chunk < MAX_CHUNKS_PER_CELL && (chunk === 0 || performance.now() - startedMs < shareMs); chunk++) {
    const result = await run(deriveSeed(seed, chunk));
    chunks.push(result);
    if (result.failure !== null) break; // a violation decides the cell; the replay shows it
  }
  const sum = (pick: (chunk: Omit<TargetCertificateCell, 'name'>) => number): number => chunks.reduce((total, chunk) => total + pick(chunk), 0);
  return {
    name, cases: sum((c) => c.cases), crashImages: sum((c) => c.crashImages), violations: sum((c) => c.violations),
    findings: sumFindings(chunks), failure: chunks.find((chunk) => chunk.failure !== null)?.failure ?? null,
  };
}

/** A campaign's failure as a cell shows it. */
function failureOf(failure: { readonly violation: { readonly kind: string; readonly detail: string }; readonly replay: string } | null): TargetCertificateCell['failure'] {
  return failure === null ? null : { kind: failure.violation.kind, detail: failure.violation.detail, replay: failure.replay };
}

function adapterHash(file: string | undefined): string {
  if (file === undefined) return '';
  return `, adapter sha256 ${createHash('sha256').update(fs.readFileSync(path.resolve(file))).digest('hex').slice(0, 16)}`;
}

async function cellsOf(resolved: AnyTarget, targetFlag: string, adapterFile: string | undefined, asked: ContractLevel | undefined): Promise<{ name: string; identity: string; contract: string; cells: Array<[string, CellRunner]> }> {
  if (resolved.tier !== 'vfs') {
    const packages = await installAdapterPackages(resolved.adapter);
    const cells = FS_MODELS.map((fsModel): [string, CellRunner] => [`fs ${fsModel}`, async (seed) => {
      const driver = driverOf(resolved, packages, seed);
      const result = await runNodeFsCampaign({ adapter: resolved.adapter, adapterModule: resolved.module, targetFlag, packages, fsModel, seed, numRuns: CASES_PER_CHUNK, contract: asked, driver });
      return { ...result, failure: failureOf(result.failure) };
    }]);
    return { name: resolved.adapter.name, identity: nodeFsIdentity(resolved) + adapterHash(adapterFile), contract: asked ?? resolved.adapter.contract.level, cells };
  }
  const { target } = resolved;
  const named = adapterFile !== undefined ? { adapterFile } : { targetName: target.name };
  const run: CellRunner = async (seed) => {
    const outcome = await runTargetCases(target, named, { targetFlag, seed, numRuns: CASES_PER_CHUNK, contract: asked }, DEFAULT_HANG_TIMEOUT_SECONDS * 1000, undefined);
    if (outcome.kind === 'hang') return { cases: outcome.caseIndex, crashImages: outcome.images, violations: 1, findings: { hang: 1 }, failure: { kind: 'hang', detail: `case ${outcome.caseIndex} did not finish`, replay: outcome.replay } };
    const { result } = outcome;
    return { ...result, failure: failureOf(result.failure) };
  };
  return { name: target.name, identity: (await target.identity()) + adapterHash(adapterFile), contract: asked ?? target.contract.level, cells: [['every crash plan, injected errors', run]] };
}

export function writeTargetCertificate(certificate: TargetCertificate, out: string): { json: string; markdown: string } {
  fs.mkdirSync(out, { recursive: true });
  const json = path.join(out, 'target-certificate.json');
  const markdown = path.join(out, 'target-certificate.md');
  fs.writeFileSync(json, `${JSON.stringify(certificate, null, 2)}\n`);
  const rows = certificate.cells.map((cell) => `| ${cell.name} | ${cell.cases} | ${cell.crashImages} | ${cell.violations} | ${Object.entries(cell.findings).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'} | ${cell.failure?.replay ?? ''} |`);
  fs.writeFileSync(markdown, [
    `# crashlab target certificate: ${certificate.target}`, '',
    `${certificate.ok ? 'Certified' : 'NOT certified'}: judged as \`${certificate.contract}\`, seed ${certificate.seed}, ${certificate.elapsedSeconds} s of a ${certificate.budgetSeconds} s budget.`, '',
    `Identity: ${certificate.identity}`, '',
    '| cell | cases | crash images | violations | findings | replay |', '| --- | ---: | ---: | ---: | --- | --- |', ...rows, '',
  ].join('\n'));
  return { json, markdown };
}
