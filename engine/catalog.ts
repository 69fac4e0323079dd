/**
 * The catalog: a B-tree of its own, mapping each table name (UTF-8) to the table's root
 * pointer, root checksum and entry count. Its root is what a commit slot points at.
 */
import { assert, corruption } from './errors.js';
import { LEAF_DIR_BYTES, type ChildRef, type Layout } from './node.js';

export const TABLE_META_BYTES = 16;
export const MAX_TABLE_NAME_BYTES = 255;

export interface TableMeta {
  readonly root: ChildRef | null;
  readonly length: number;
}

export function encodeTableMeta(meta: TableMeta): Uint8Array {
  assert(meta.root === null || meta.root.node === null, 'a table is committed before its meta');
  assert(Number.isSafeInteger(meta.length) && meta.length >= 0, 'table length is a count');
  const bytes = new Uint8Array(TABLE_META_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, meta.root?.page ?? 0, true);
  view.setUint32(4, meta.root?.crc ?? 0, true);
  view.setBigUint64(8, BigInt(meta.length), true);
  return bytes;
}

export function decodeTableMeta(bytes: Uint8Array, name: string): TableMeta {
  if (bytes.length !== TABLE_META_BYTES) throw corruption(`table ${name}: catalog entry has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const page = view.getUint32(0, true);
  const length = Number(view.getBigUint64(8, true));
  if (!Number.isSafeInteger(length)) throw corruption(`table ${name}: impossible length`);
  if (page === 0 && length !== 0) throw corruption(`table ${name}: empty tree with length ${length}`);
  const root = page === 0 ? null : { page, crc: view.getUint32(4, true), node: null };
  return { root, length };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The longest table name for a page size: its catalog entry (name and 16-byte meta) must sit
 * inline in a leaf, never in overflow pages.
 */
export function maxTableNameBytes(layout: Layout): number {
  return Math.min(MAX_TABLE_NAME_BYTES, layout.maxEntryBytes - LEAF_DIR_BYTES - TABLE_META_BYTES);
}

/** Validates a table name from the caller (misuse is a TypeError) and encodes it. */
export function tableNameKey(name: unknown, layout: Layout): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('table name must be a non-empty string');
  // A lone surrogate would encode as U+FFFD and collide with a different name.
  if (!name.isWellFormed()) throw new TypeError('table name must be well-formed Unicode (no lone surrogates)');
  const key = encoder.encode(name);
  const limitBytes = maxTableNameBytes(layout);
  if (key.length > limitBytes) throw new TypeError(`table name of ${key.length} bytes exceeds ${limitBytes}`);
  return key;
}

export function tableNameOf(key: Uint8Array): string {
  try {
    return decoder.decode(key);
  } catch (error) {
    throw corruption(`catalog key is not UTF-8: ${String(error)}`);
  }
}
