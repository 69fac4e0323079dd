/**
 * One capture inside the capture server (captureServer.ts): a worker thread, so a fresh module
 * graph and a fresh `fs` module of its own, with the preload first (it patches this thread's
 * fs and pins its randomness, clock, pid and thread id), then the traced child's main, exactly
 * as a child process runs them. The config comes in this worker's own environment.
 */
await import('./preload.js');
await import('./childMain.js');
