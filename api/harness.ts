/**
 * crashlab's public harness API (`import { defineTarget, runCampaign } from 'crashlab/harness'`):
 * define a target for your engine, run a crash campaign against it, and read the verdict.
 * Everything here is target-neutral; the built-in targets are reachable by name.
 */
export { defineTarget, CONTRACT_LEVELS } from '../targets/target.js';
export type { ContractLevel, OpenContext, OpenTarget, Target, TargetCapabilities, TargetContract, TargetOp, TargetState, TargetTxn } from '../targets/target.js';
export type { Storage, Vfs, OpenOptions } from '../engine/storage.js';
export { EngineError } from '../engine/errors.js';
export { builtInTargets, loadAdapter, resolveTarget, TargetError } from '../targets/registry.js';
export { runTargetCampaign as runCampaign, targetCaseArb } from '../properties/runTargetCampaign.js';
export type { TargetCampaign as Campaign, TargetCampaignResult as CampaignResult, TargetCase } from '../properties/runTargetCampaign.js';
export { runTargetCrashCase as runCrashCase } from '../properties/targetCrashCase.js';
export { checkConformance, ConformanceError } from '../properties/conformance.js';
// The node-fs tier: a library that persists through Node's own fs, traced in a child.
export { defineNodeFsAdapter } from '../targets/nodefs/nodeFsAdapter.js';
export type { NodeFsAdapter, NodeFsContext, NodeFsStore } from '../targets/nodefs/nodeFsAdapter.js';
export { builtInNodeFsTargets, loadAnyAdapter, resolveAnyTarget } from '../targets/registry.js';
export { runNodeFsCampaign } from '../properties/runNodeFsCampaign.js';
export type { NodeFsCampaign, NodeFsCampaignResult } from '../properties/runNodeFsCampaign.js';
