/**
 * A file's bytes in fixed-size chunks that copies share until one of them writes (copy on
 * write). The fault layer takes a crash image at every sampled I/O event and mounts each one
 * again for recovery; with whole-file copies those copies were most of the harness's time.
 * Here a copy (`fork`) costs nothing, and a write copies only the chunks it touches, so an
 * image costs what the crash changed, not the size of the file. A missing chunk reads as
 * zeros, so preallocated or truncated-then-extended space costs nothing either.
 *
 * Invariant: every byte at or past `length` inside a chunk is zero, and no chunk lies wholly
 * past `length`; so growing the file exposes zeros, as a real file does.
 */

/** A change to a file's bytes: a write or a length change. */
export type FileOp =
  | { readonly kind: 'write'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'setLen'; readonly lengthBytes: number };

export const CHUNK_BYTES = 4096;

const chunkCount = (lengthBytes: number): number => Math.ceil(lengthBytes / CHUNK_BYTES);

export class CowBytes {
  private chunks: Array<Uint8Array | null>;
  /** The array itself is shared with a fork: copy it before changing which chunk sits where. */
  private arrayShared: boolean;
  /** Chunks no other copy refers to: only these may be written in place. */
  private owned = new Set<Uint8Array>();
  private lengthBytes: number;

  private constructor(chunks: Array<Uint8Array | null>, lengthBytes: number, arrayShared: boolean) {
    this.chunks = chunks;
    this.lengthBytes = lengthBytes;
    this.arrayShared = arrayShared;
  }

  static empty(): CowBytes {
    return new CowBytes([], 0, false);
  }

  /** A copy of `bytes` (the caller may change them afterwards). */
  static copyOf(bytes: Uint8Array): CowBytes {
    const out = CowBytes.empty();
    if (bytes.length > 0) out.write(0, bytes);
    return out;
  }

  get length(): number {
    return this.lengthBytes;
  }

  /** An independent copy in O(1): both sides share every chunk until they write it. */
  fork(): CowBytes {
    this.owned = new Set();
    this.arrayShared = true;
    return new CowBytes(this.chunks, this.lengthBytes, true);
  }

  /** `lengthBytes` bytes at `offset` (inside the file), in a new array the caller owns. */
  read(offset: number, lengthBytes: number): Uint8Array {
    const index = Math.floor(offset / CHUNK_BYTES);
    const within = offset - index * CHUNK_BYTES;
    if (within + lengthBytes <= CHUNK_BYTES) {
      // Inside one chunk (an engine page read): one copy, no zero-fill first.
      const chunk = this.chunks[index] ?? null;
      return chunk === null ? new Uint8Array(lengthBytes) : chunk.slice(within, within + lengthBytes);
    }
    const out = new Uint8Array(lengthBytes);
    this.copyTo(out, offset);
    return out;
  }

  /**
   * `read` without the copy when the range lies inside one chunk: a view of bytes this file
   * may share with its forks, which the caller must never write. They never change either:
   * the chunk stops being this copy's own, so a later write here copies it first.
   */
  view(offset: number, lengthBytes: number): Uint8Array {
    const index = Math.floor(offset / CHUNK_BYTES);
    const within = offset - index * CHUNK_BYTES;
    const chunk = this.chunks[index] ?? null;
    if (chunk === null || within + lengthBytes > CHUNK_BYTES) return this.read(offset, lengthBytes);
    this.owned.delete(chunk);
    return chunk.subarray(within, within + lengthBytes);
  }

  /** All the bytes, in a new array the caller owns. */
  toUint8Array(): Uint8Array {
    return this.read(0, this.lengthBytes);
  }

  private copyTo(out: Uint8Array, offset: number): void {
    const end = offset + out.length;
    for (let at = offset; at < end;) {
      const index = Math.floor(at / CHUNK_BYTES);
      const within = at - index * CHUNK_BYTES;
      const n = Math.min(CHUNK_BYTES - within, end - at);
      const chunk = this.chunks[index];
      // A missing chunk is zeros, and `out` starts zeroed.
      if (chunk !== undefined && chunk !== null) out.set(chunk.subarray(within, within + n), at - offset);
      at += n;
    }
  }

  /**
   * Applies a change. A FileOp's data is never written again by anyone (the fault layer copies
   * what the engine writes into it, and only lays it over images afterwards), so whole chunks
   * of it are taken as they are, not copied: not as this copy's own, so a later write here
   * copies them first. A page written, made durable and laid over an image was copied three times.
   */
  apply(op: FileOp): void {
    if (op.kind === 'write') this.write(op.offset, op.data, true);
    else this.setLen(op.lengthBytes);
  }

  /** `adopt`: `data` never changes again (see `apply`); otherwise it is copied (the caller may reuse it). */
  write(offset: number, data: Uint8Array, adopt = false): void {
    const end = offset + data.length;
    this.resize(Math.max(this.lengthBytes, end));
    for (let at = offset; at < end;) {
      const index = Math.floor(at / CHUNK_BYTES);
      const within = at - index * CHUNK_BYTES;
      const n = Math.min(CHUNK_BYTES - within, end - at);
      const piece = data.subarray(at - offset, at - offset + n);
      // A whole chunk overwritten needs no copy of the old one (engine pages often are one).
      if (n === CHUNK_BYTES && adopt) this.share(index, piece);
      else if (n === CHUNK_BYTES) this.replace(index, new Uint8Array(piece));
      else this.writable(index).set(piece, within);
      at += n;
    }
  }

  setLen(lengthBytes: number): void {
    const cut = lengthBytes % CHUNK_BYTES;
    // Bytes past the new end must read as zeros after a later extension.
    if (lengthBytes < this.lengthBytes && cut !== 0 && (this.chunks[Math.floor(lengthBytes / CHUNK_BYTES)] ?? null) !== null) {
      this.writable(Math.floor(lengthBytes / CHUNK_BYTES)).fill(0, cut);
    }
    this.resize(lengthBytes);
  }

  /** Sets the length and the number of chunks (new ones missing, that is zeros). */
  private resize(lengthBytes: number): void {
    const count = chunkCount(lengthBytes);
    if (count !== this.chunks.length) {
      this.unshareArray();
      for (const dropped of this.chunks.splice(count)) if (dropped !== null) this.owned.delete(dropped);
      while (this.chunks.length < count) this.chunks.push(null);
    }
    this.lengthBytes = lengthBytes;
  }

  private unshareArray(): void {
    if (!this.arrayShared) return;
    this.chunks = this.chunks.slice();
    this.arrayShared = false;
  }

  /** Chunk `index`, copied first unless this copy alone holds it. */
  private writable(index: number): Uint8Array {
    const chunk = this.chunks[index] ?? null;
    if (chunk !== null && this.owned.has(chunk)) return chunk;
    const copy = new Uint8Array(CHUNK_BYTES);
    if (chunk !== null) copy.set(chunk);
    this.replace(index, copy);
    return copy;
  }

  /** Puts a chunk at `index` that is not this copy's own (it is never written in place). */
  private share(index: number, chunk: Uint8Array): void {
    this.unshareArray();
    const old = this.chunks[index] ?? null;
    if (old !== null) this.owned.delete(old);
    this.chunks[index] = chunk;
  }

  /** Puts a chunk of this copy's own at `index`. */
  private replace(index: number, chunk: Uint8Array): void {
    this.unshareArray();
    const old = this.chunks[index] ?? null;
    // Forget the old one, or a long run would keep every version of every chunk alive.
    if (old !== null) this.owned.delete(old);
    this.chunks[index] = chunk;
    this.owned.add(chunk);
  }

  /** Same length and bytes; chunks both sides share are not compared byte by byte. */
  equals(other: CowBytes): boolean {
    if (this.lengthBytes !== other.lengthBytes) return false;
    for (let index = 0; index < this.chunks.length; index++) {
      const a = this.chunks[index] ?? null;
      const b = other.chunks[index] ?? null;
      if (a !== b && !chunksEqual(a, b)) return false;
    }
    return true;
  }
}

/** Chunks are full-size and zero past the file's end, so whole chunks compare (null: zeros). */
function chunksEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a !== null && b !== null) return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
  const chunk = a ?? b;
  return chunk === null || chunk.every((byte) => byte === 0);
}
