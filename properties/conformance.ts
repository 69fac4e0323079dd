/**
 * The self-test a target passes before any finding of it is reported (an adapter's bugs must
 * not pass for the engine's): a round trip without crashes reads back exactly what was
 * written, and a process crash that keeps every write (survival `all`) loses nothing, at every
 * crash point (for a target that promises anything). A failure here is the adapter's, and says which check broke.
 */
import { DURABLE_ONLY, FaultyVfs } from '../fault/faultyVfs.js';
import { statesEqual, toHex } from '../model/commitHistory.js';
import { checkOpenTarget, type Target, type TargetState, type TargetTxn } from '../targets/target.js';
import { runTargetCrashCase } from './targetCrashCase.js';
import { replayAll } from '../fault/trace.js';
import type { TracedAdapter } from '../targets/nodefs/nodeFsAdapter.js';
import type { TracedDriver } from './runNodeFsCampaign.js';
import { RecoveryPool } from '../targets/nodefs/recoveryPool.js';
import { runNodeFsCrashCase } from './nodeFsCrashCase.js';

const ROUND_TRIP: TargetTxn[] = [
  { family: 'f0', durability: 'immediate', ops: [{ op: 'insert', table: 't', key: Uint8Array.of(1), value: Uint8Array.of(1, 2, 3) }, { op: 'insert', table: 't', key: Uint8Array.of(2), value: new Uint8Array(0) }] },
  { family: 'f0', durability: 'immediate', ops: [{ op: 'remove', table: 't', key: Uint8Array.of(1) }, { op: 'insert', table: 'u', key: Uint8Array.of(9, 9), value: new Uint8Array(5000).fill(7) }] },
];

/**
 * The same self-test for a node-fs adapter: the round trip traced, then every crash point with
 * everything kept (a process crash: the kernel had every write) must recover exactly the commits
 * acknowledged by then; the end of the run must read back the round trip's state.
 */
export async function checkNodeFsConformance(adapter: TracedAdapter, adapterModule: string, packages: Readonly<Record<string, string>>, driver?: TracedDriver): Promise<void> {
  const pool = driver?.pool() ?? new RecoveryPool({ adapterModule, packages, seed: 1, workers: 1 });
  try {
    const result = await runNodeFsCrashCase({
      adapter, adapterModule, packages, txns: ROUND_TRIP, fsModel: 'posix', sectorBytes: 512, atomicSector: true,
      pointsPerCase: 1024, plansPerPoint: 1, survivals: ['all'], seed: 1, contract: 'durable', pool, capture: driver?.capture,
    });
    const finding = result.findings[0];
    if (finding !== undefined) throw new ConformanceError(`adapter ${adapter.name}: a process crash that keeps every write gave ${finding.kind} ${finding.point} (${finding.detail}): apply, readState or open is wrong`);
    const [end] = await pool.recoverAll([replayAll(result.trace.events)]);
    if (end?.kind !== 'state' || !statesEqual(end.state, expected())) throw new ConformanceError(`adapter ${adapter.name}: the round trip read back ${end?.kind === 'state' ? 'another state' : `nothing (${end?.kind === 'refused' ? end.message : 'a hang'})`}, not what was written`);
  } finally {
    await pool.close();
  }
}

export class ConformanceError extends Error {
  readonly code = 'CONFORMANCE';
}

function expected(): TargetState {
  return new Map([['f0', new Map([
    ['t', new Map([[toHex(Uint8Array.of(2)), '']])],
    ['u', new Map([[toHex(Uint8Array.of(9, 9)), toHex(new Uint8Array(5000).fill(7))]])],
  ])]]);
}

export async function checkConformance(target: Target): Promise<void> {
  const vfs = new FaultyVfs();
  const context = { seed: 1, device: { sectorBytes: 512 as const, atomicSector: true }, clock: () => 0 };
  const opened = checkOpenTarget(target.name, await target.open(vfs, context));
  for (const txn of ROUND_TRIP) await opened.apply(txn);
  const live = await opened.readState();
  await opened.close();
  if (!statesEqual(live, expected())) throw new ConformanceError(`target ${target.name}: a round trip without crashes read back ${JSON.stringify([...live.keys()])}, not what was written (readState or apply is wrong)`);
  const reopened = checkOpenTarget(target.name, await target.open(FaultyVfs.fromImage(vfs.crashImage(DURABLE_ONLY)), context));
  const after = await reopened.readState();
  await reopened.close();
  if (!statesEqual(after, expected())) throw new ConformanceError(`target ${target.name}: after a clean close and a power cut the state differs (close() does not make everything durable)`);
  // A target that promises nothing (journal off) may tear even a process crash: only promises are checked.
  if (target.contract.level === 'none') return;
  const kept = await runTargetCrashCase({ target, txns: ROUND_TRIP, plan: { survival: 'all', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: true, seed: 0 }, imagesPerCase: 64, seed: 1, contract: 'durable' });
  if (kept.violation !== null) throw new ConformanceError(`target ${target.name}: a process crash that keeps every write lost data at event ${kept.violation.crashAtEvent} (${kept.violation.kind}: ${kept.violation.detail})`);
}
