/** A benchmark flag's value as a positive integer, or an error naming the flag (shared by every bench's argument parser). */
import { BenchUsageError } from './benchMain.js';
export function positiveInteger(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new BenchUsageError(`${flag} wants a positive integer, not ${String(text)}`);
  return value;
}
