/**
 * Aimed bit flips: a flip that names an anchor lands `offset` bytes past the start of one of
 * the places in its file where recovery decides (a header), found in the image itself when the
 * corruption is applied. Anchors, in order: the column-family data file's two master header
 * copies, then each family's page 0 (its static header and both commit slots) in the order of
 * the newest valid master copy; the log's header slots (offset 0; both slots lie in its first
 * 128 bytes); and a standalone database file's page 0. A family index past the last family wraps
 * around the families, so an index drawn for three families still hits a family's header when
 * the image has one. Without a valid master copy, the data file has only the two master anchors;
 * any other file has one, at byte 0.
 *
 * Trust: this reads the reference engine's master header format (engine/masterHeader.ts) to find
 * where the families' headers are. It decides only where a flip lands, never how an image is
 * judged: a wrong reading moves the flip elsewhere in the file, and the oracle still judges the
 * recovery as a damaged image. For a file it does not recognise, the anchor is byte 0.
 */
import { decodeMaster, DATA_START_BYTES, MASTER_COPY_BYTES, MASTER_MAGIC, MASTER_OFFSETS, type Master } from '../engine/masterHeader.js';
import type { CrashImage } from '../fault/crashImage.js';
import type { Corruption } from '../fault/faultyVfs.js';

type Flip = Extract<Corruption, { kind: 'flip' }>;

/** The newest valid master copy in the data file's first bytes, or null. */
function newestMaster(head: Uint8Array): Master | null {
  let newest: Master | null = null;
  for (const at of MASTER_OFFSETS) {
    if (head.length < at + MASTER_COPY_BYTES) continue;
    let master: Master | null = null;
    try {
      master = decodeMaster(head.subarray(at, at + MASTER_COPY_BYTES));
    } catch {
      master = null; // a copy that decodes to an error is no anchor (its damage is the oracle's business)
    }
    if (master !== null && (newest === null || master.generation > newest.generation)) newest = master;
  }
  return newest;
}

/** The anchors of one file of an image (see the file comment), as byte offsets. */
export function anchorsOf(image: CrashImage, file: string): number[] {
  const bytes = image.fork(file);
  if (bytes === undefined || bytes.length < DATA_START_BYTES) return [0];
  const head = bytes.read(0, DATA_START_BYTES);
  const master = newestMaster(head);
  // Either copy still starting with the magic: a data file whose masters are both damaged.
  const isMasterFile = master !== null || MASTER_OFFSETS.some((at) => MASTER_MAGIC.every((byte, i) => head[at + i] === byte));
  if (!isMasterFile) return [0];
  const families = master?.families.flatMap((family) => family.segments.slice(0, 1).map((segment) => segment.offset)) ?? [];
  return [...MASTER_OFFSETS, ...families];
}

/** Anchor `index` of a file's anchors: the masters by their index, a family index wrapping around the families. */
function anchorAt(anchors: readonly number[], index: number): number {
  const masters = MASTER_OFFSETS.length;
  if (index < masters || anchors.length <= masters) return anchors[index % anchors.length]!;
  return anchors[masters + ((index - masters) % (anchors.length - masters))]!;
}

/** The corruptions with every aimed flip made a plain one at its anchor's offset in `image`. */
export function aimFlips(image: CrashImage, corruptions: readonly Corruption[]): Corruption[] {
  const anchors = new Map<string, number[]>();
  return corruptions.map((corruption): Corruption => {
    if (corruption.kind !== 'flip' || corruption.anchor === undefined) return corruption;
    let fileAnchors = anchors.get(corruption.file);
    if (fileAnchors === undefined) {
      fileAnchors = anchorsOf(image, corruption.file);
      anchors.set(corruption.file, fileAnchors);
    }
    const { anchor, ...plain }: Flip = corruption;
    return { ...plain, offset: anchorAt(fileAnchors, anchor) + corruption.offset };
  });
}

/** The image with the case's corruption applied, aimed flips resolved against the image itself. */
export function damageImage(image: CrashImage, corruptions: readonly Corruption[]): CrashImage {
  return image.corrupt(aimFlips(image, corruptions));
}
