/**
 * The traced child's first module (`node --import preload.js childMain.js`): installs the fs
 * recorder on the root named by CRASHLAB_TRACE_CONFIG and pins randomness and the clock to its
 * seed, before anything else loads, so a library that keeps fs functions taken at load time
 * keeps the patched ones.
 */
import { pinDeterminism } from './determinism.js';
import { installRecorder, type Recorder } from './fsRecorder.js';
import { CONFIG_ENV, type ChildConfig } from './traceProtocol.js';

function readConfig(): ChildConfig {
  const text = process.env[CONFIG_ENV];
  if (text === undefined || text === '') throw new Error(`${CONFIG_ENV} is not set: the traced child needs its config`);
  const config = JSON.parse(text) as ChildConfig;
  if (typeof config.root !== 'string' || !Number.isInteger(config.seed)) throw new Error(`${CONFIG_ENV} needs root (a path) and seed (an integer)`);
  return config;
}

export const config: ChildConfig = readConfig();
export const recorder: Recorder = await installRecorder(config.root);
// The trace must explain the whole root, so it has to start empty.
if (recorder.original.readdirSync(config.root).length !== 0) throw new Error(`the traced root ${config.root} is not empty`);
pinDeterminism(config.seed);
