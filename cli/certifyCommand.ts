/**
 * `crashlab certify` and `crashlab merge`: the "certify a durability change" use. Certify runs
 * the whole matrix within a budget and writes certificate.json and certificate.md (with
 * `--compare`, what changed against an earlier certificate); merge sums shard certificates.
 * Exit 0 when the verdict is PASSED, 1 FAILED, 3 INCONCLUSIVE (mutants not killed in time).
 */
import path from 'node:path';
import type { Command } from './args.js';
import {
  budgetSplit, certificateVerdict, compareCertificates, describeSplit, mergeCertificates, readCertificate, runCertify, writeCertificate, type Certificate, type CertificateVerdict,
} from './certify.js';
import { EXIT_INCONCLUSIVE } from './mutantsCommand.js';
import { engineFor } from './plant.js';
import { ProgressLine } from './progress.js';

type CertifyCommand = Extract<Command, { command: 'certify' }>;
type MergeCommand = Extract<Command, { command: 'merge' }>;

const EXIT: Record<CertificateVerdict, number> = { PASSED: 0, FAILED: 1, INCONCLUSIVE: EXIT_INCONCLUSIVE };

async function finish(cert: Certificate, out: string): Promise<number> {
  const written = await writeCertificate(cert, out);
  const verdict = certificateVerdict(cert);
  const said = verdict === 'PASSED' ? 'certified' : verdict === 'FAILED' ? 'NOT certified'
    : 'INCONCLUSIVE (no violation, no survivor, but some mutants were not killed in time: a larger --budget or --mutants-budget decides them)';
  console.log(`${said}: wrote ${written.json} and ${written.markdown}`);
  return EXIT[verdict];
}

export async function certifyCommand(args: CertifyCommand, drawSeed: () => number): Promise<number> {
  const seed = args.seed ?? drawSeed();
  const old = args.compare === null ? null : await readCertificate(args.compare);
  const engine = await engineFor(args.plant);
  const options = {
    budgetSeconds: args.budgetSeconds, seed,
    ...(args.plant === null ? {} : { plant: args.plant, engine }),
    ...(args.shard === null ? {} : { shard: args.shard }),
    ...(args.kills === null ? {} : { killsPerTier: args.kills }),
    ...(args.mutantsBudgetSeconds === null ? {} : { mutants: { budgetSeconds: args.mutantsBudgetSeconds } }),
    // A failed kill keeps its image beside the certificate, so the replay it prints re-judges it there.
    killsDir: path.join(args.out, 'kills'),
  };
  const split = budgetSplit(options);
  console.log(`crashlab certify: seed ${seed} (${args.seed === null ? 'drawn' : 'given'}), out ${args.out}; ${describeSplit(split, args.budgetSeconds)}`);
  if (args.plant !== null) console.log(`planted mutant ${args.plant}: the matrix runs against this bug (no kill tiers, no mutation run), the certificate names it`);
  const progress = new ProgressLine(false);
  const cert = await runCertify({ ...options, onProgress: (line, lasting) => (lasting ? progress.print(`  ${line}`) : progress.show(`  ${line}`)) });
  progress.clear();
  if (old !== null) console.log(compareCertificates(old, cert));
  return finish(cert, args.out);
}

export async function mergeCommand(args: MergeCommand): Promise<number> {
  const certificates = await Promise.all(args.files.map((file) => readCertificate(file)));
  return finish(mergeCertificates(certificates), args.out);
}
