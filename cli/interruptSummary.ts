/**
 * What Ctrl-C prints besides "interrupted": the partial summary of the phase then running (its
 * seed, how far it got, what it found) and the command that runs it again. A long phase
 * registers a describer when it starts and updates what it describes as it goes; main.ts's
 * SIGINT handler asks for the line. Campaigns are functions of their seed, so running the same
 * command again draws the same cases from the start: that is the honest "resume".
 */
let describer: (() => string) | null = null;

/** Registers (or, with null, removes) the describer of the phase in progress. */
export function onInterrupt(describe: (() => string) | null): void {
  describer = describe;
}

/** The partial summary, or null when no phase registered one (or describing it failed). */
export function interruptSummary(): string | null {
  try {
    return describer?.() ?? null;
  } catch {
    return null;
  }
}
