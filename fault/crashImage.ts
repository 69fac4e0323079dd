/**
 * A crash image, taken cheaply: for each file, its durable bytes at the crash (shared copy on
 * write with the live file, see cowBytes.ts) and the writes the crash plan let survive, laid
 * over them only when the image is first used. The crash property takes an image at every
 * sampled I/O event and a reservoir drops about half of them later: those cost next to nothing.
 * The bytes are exactly those the crash model defines (faultyVfs.ts): same plan, same image.
 */
import { CowBytes, type FileOp } from './cowBytes.js';
import type { Corruption } from './faultyVfs.js';

/** One file of an image: bytes nobody writes again, and the surviving changes over them, in order. */
export interface ImageRecipe {
  readonly base: CowBytes;
  readonly ops: readonly FileOp[];
}

const byName = <T>([a]: [string, T], [b]: [string, T]): number => (a < b ? -1 : 1);

export class CrashImage {
  private built: Map<string, CowBytes> | null = null;
  private readonly recipes: ReadonlyMap<string, ImageRecipe>;

  /** `recipes`' bases must never be written again (forks of durable bytes are not). */
  constructor(recipes: ReadonlyMap<string, ImageRecipe>) {
    this.recipes = new Map([...recipes].sort(byName));
  }

  /** An image of these bytes (copied: the caller may change them afterwards). */
  static copyOf(files: ReadonlyMap<string, Uint8Array>): CrashImage {
    return new CrashImage(new Map([...files].map(([name, bytes]) => [name, { base: CowBytes.copyOf(bytes), ops: [] }])));
  }

  /** File names, sorted. */
  names(): string[] {
    return [...this.recipes.keys()];
  }

  /** Each file's bytes, built on first use (the surviving changes applied to a fork of the base). */
  private files(): Map<string, CowBytes> {
    if (this.built !== null) return this.built;
    const built = new Map<string, CowBytes>();
    for (const [name, { base, ops }] of this.recipes) {
      if (ops.length === 0) {
        built.set(name, base);
        continue;
      }
      const bytes = base.fork();
      for (const op of ops) bytes.apply(op);
      built.set(name, bytes);
    }
    this.built = built;
    return built;
  }

  /** A writable copy of one file, to mount: what recovery writes never reaches this image. */
  fork(name: string): CowBytes | undefined {
    return this.files().get(name)?.fork();
  }

  /** The files' lengths added up: what the image takes on a disk (no byte copied). */
  sizeBytes(): number {
    let total = 0;
    for (const bytes of this.files().values()) total += bytes.length;
    return total;
  }

  /** The bytes of every file, copied out (sorted by name). */
  toBytes(): Map<string, Uint8Array> {
    return new Map([...this.files()].map(([name, bytes]) => [name, bytes.toUint8Array()]));
  }

  /** Same files, same bytes. */
  equals(other: CrashImage): boolean {
    const mine = this.files();
    const theirs = other.files();
    if (mine.size !== theirs.size) return false;
    for (const [name, bytes] of mine) {
      const otherBytes = theirs.get(name);
      if (otherBytes === undefined || !bytes.equals(otherBytes)) return false;
    }
    return true;
  }

  /**
   * Flips bits (corruption of durable bytes) as `corruptImage` does for plain images: offsets
   * wrap around each file, flips apply in order, unreadable ranges change no byte. This image
   * is left alone.
   */
  corrupt(corruptions: readonly Corruption[]): CrashImage {
    if (!corruptions.some((corruption) => corruption.kind === 'flip')) return this;
    const files = new Map(this.files());
    const forked = new Set<string>();
    for (const corruption of corruptions) {
      let bytes = files.get(corruption.file);
      if (corruption.kind === 'flip' && corruption.anchor !== undefined) throw new TypeError('an aimed flip must be resolved to an offset before corrupting (properties/aimedFlips.ts)');
      if (corruption.kind !== 'flip' || bytes === undefined || bytes.length === 0) continue;
      const at = corruption.live === true ? flipOffset(bytes.read(0, bytes.length), corruption) : corruption.offset % bytes.length;
      if (at === null) continue;
      if (!forked.has(corruption.file)) {
        bytes = bytes.fork();
        files.set(corruption.file, bytes);
        forked.add(corruption.file);
      }
      bytes.write(at, Uint8Array.of(bytes.read(at, 1)[0]! ^ (1 << (corruption.bit & 7))));
    }
    return new CrashImage(new Map([...files].map(([name, base]) => [name, { base, ops: [] }])));
  }
}

/** Where a flip lands in `bytes` (see Corruption in faultyVfs.ts), or null when there is nowhere to land. */
export function flipOffset(bytes: Uint8Array, flip: Extract<Corruption, { kind: 'flip' }>): number | null {
  if (bytes.length === 0) return null;
  if (flip.live !== true) return flip.offset % bytes.length;
  let live = 0;
  for (const byte of bytes) if (byte !== 0) live++;
  if (live === 0) return null;
  let wanted = flip.offset % live;
  for (let at = 0; at < bytes.length; at++) {
    if (bytes[at] === 0) continue;
    if (wanted === 0) return at;
    wanted--;
  }
  return null;
}
