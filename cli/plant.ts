/**
 * `--plant NAME`: the harness run against one named mutant of the engine (the hand-written
 * catalog of mutants/plantEngine.ts, or a generated one of mutants/mutantGenerator.ts), so a
 * person can see the failure workflow (report, replay, corpus) without editing the engine.
 * An unknown name is an `UnknownMutantError` (exit 2 at the command line) that names it.
 */
import { automaticCatalog, UnknownMutantError } from '../mutants/mutantRunner.js';
import { PLANTED_BUGS, plantEngine, type PlantedBug } from '../mutants/plantEngine.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';

/** The mutant `name`: the catalog first, then the generated ones (built only when needed). */
export function findMutant(name: string): PlantedBug {
  const bug = PLANTED_BUGS.find((candidate) => candidate.name === name) ?? automaticCatalog().mutants.find((candidate) => candidate.name === name);
  if (bug === undefined) throw new UnknownMutantError(`--plant: no mutant named ${JSON.stringify(name)} (crashlab mutants --list names them; --automatic adds the generated ones)`);
  return bug;
}

/** The engine a command runs: the mutant `plant` planted, or `fallback` (the reference engine, or a test's engine). */
export async function engineFor(plant: string | null, fallback?: EngineUnderTest): Promise<EngineUnderTest | undefined> {
  if (plant === null) return fallback;
  const bug = findMutant(plant);
  return plantEngine(bug.name, bug.patches);
}

/** `crashlab mutants --list`: one line per mutant, its name and what it stands for. */
export function mutantList(automatic: boolean): string[] {
  const generated = automatic ? automaticCatalog().mutants : [];
  const all = [...PLANTED_BUGS, ...generated];
  const width = Math.max(...all.map((bug) => bug.name.length));
  return [
    ...all.map((bug) => `${bug.name.padEnd(width)}  ${bug.description}${bug.equivalent === undefined ? '' : ` (equivalent: ${bug.equivalent})`}`),
    `${all.length} mutants${automatic ? '' : ' (--automatic adds the generated ones)'}; run one with crashlab run --plant NAME`,
  ];
}
