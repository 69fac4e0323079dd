/**
 * The traced child's entry (`node --import preload.js childMain.js`, config in
 * CRASHLAB_TRACE_CONFIG): runs the one traced case (tracedCase.ts) and exits. The preload has
 * already patched fs and pinned randomness and time.
 */
import { config, recorder } from './preload.js';
import { runTracedCase } from './tracedCase.js';

await runTracedCase(config, recorder);
// Timers or handles the library left behind must not keep the child (and the parent's timeout) waiting.
process.exit(0);
