/**
 * `crashlab certify` and `crashlab merge`: the "certify a durability change" use. Certify runs
 * the whole matrix within a budget and writes certificate.json and certificate.md (with
 * `--compare`, what changed against an earlier certificate); merge sums shard certificates.
 * Exit 0 only when nothing failed.
 */
import type { Command } from './args.js';
import {
  certificateOk, compareCertificates, mergeCertificates, readCertificate, runCertify, writeCertificate, type Certificate,
} from './certify.js';
import { engineFor } from './plant.js';

type CertifyCommand = Extract<Command, { command: 'certify' }>;
type MergeCommand = Extract<Command, { command: 'merge' }>;

async function finish(cert: Certificate, out: string): Promise<number> {
  const written = await writeCertificate(cert, out);
  const ok = certificateOk(cert);
  console.log(`${ok ? 'certified' : 'NOT certified'}: wrote ${written.json} and ${written.markdown}`);
  return ok ? 0 : 1;
}

export async function certifyCommand(args: CertifyCommand, drawSeed: () => number): Promise<number> {
  const seed = args.seed ?? drawSeed();
  const old = args.compare === null ? null : await readCertificate(args.compare);
  console.log(`crashlab certify: seed ${seed} (${args.seed === null ? 'drawn' : 'given'}), budget ${args.budgetSeconds} s, out ${args.out}`);
  const engine = await engineFor(args.plant);
  if (args.plant !== null) console.log(`planted mutant ${args.plant}: the matrix runs against this bug (no kill tiers, no mutation run), the certificate names it`);
  const cert = await runCertify({
    budgetSeconds: args.budgetSeconds, seed,
    ...(args.plant === null ? {} : { plant: args.plant, engine }),
    ...(args.shard === null ? {} : { shard: args.shard }),
    ...(args.kills === null ? {} : { killsPerTier: args.kills }),
    ...(args.mutantsBudgetSeconds === null ? {} : { mutants: { budgetSeconds: args.mutantsBudgetSeconds } }),
    onProgress: (line) => console.log(`  ${line}`),
  });
  if (old !== null) console.log(compareCertificates(old, cert));
  return finish(cert, args.out);
}

export async function mergeCommand(args: MergeCommand): Promise<number> {
  const certificates = await Promise.all(args.files.map((file) => readCertificate(file)));
  return finish(mergeCertificates(certificates), args.out);
}
