/**
 * The logical redo of a transaction: the table operations it performed, in order. It is what
 * a WAL record carries, and why skipping page flushes at commit (the WAL-aware barrier) is
 * sound: replaying the redo on top of the last durable header rebuilds the lost pages.
 * Manifold's WAL records only root pointers, which name pages a crash may have lost.
 */
import { corruption } from './errors.js';

export type RedoOp =
  | { readonly op: 'create'; readonly table: string }
  | { readonly op: 'delete'; readonly table: string }
  | { readonly op: 'insert'; readonly table: string; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'remove'; readonly table: string; readonly key: Uint8Array }
  | { readonly op: 'clear'; readonly table: string };

const OP_CODES = { create: 1, delete: 2, insert: 3, remove: 4, clear: 5 } as const;
const OP_NAMES = ['', 'create', 'delete', 'insert', 'remove', 'clear'] as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes `encodeRedo` will use for these operations. */
export function redoBytes(ops: readonly RedoOp[]): number {
  let total = 4;
  // A transaction's ops mostly name one table: measure a name once per run of it.
  let lastTable = '';
  let lastTableBytes = 0;
  for (const op of ops) {
    if (op.table !== lastTable) {
      lastTable = op.table;
      lastTableBytes = Buffer.byteLength(op.table, 'utf8');
    }
    total += 1 + 2 + lastTableBytes;
    if (op.op === 'insert') total += 8 + op.key.length + op.value.length;
    if (op.op === 'remove') total += 4 + op.key.length;
  }
  return total;
}

/** Layout: u32 count, then per op: u8 code, u16 name length, name, [u32 len, key], [u32 len, value]. */
export function encodeRedo(ops: readonly RedoOp[], out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = offset;
  view.setUint32(at, ops.length, true);
  at += 4;
  const bytes = (data: Uint8Array): void => {
    view.setUint32(at, data.length, true);
    out.set(data, at + 4);
    at += 4 + data.length;
  };
  let lastTable = '';
  let name = new Uint8Array(0); // the encoding of the empty name, which lastTable starts as
  for (const op of ops) {
    view.setUint8(at, OP_CODES[op.op]);
    // Encoded once per run of ops on one table (the common case), not once per op.
    if (op.table !== lastTable) {
      lastTable = op.table;
      name = encoder.encode(op.table);
    }
    view.setUint16(at + 1, name.length, true);
    out.set(name, at + 3);
    at += 3 + name.length;
    if (op.op === 'insert' || op.op === 'remove') bytes(op.key);
    if (op.op === 'insert') bytes(op.value);
  }
  return at;
}

/** Decodes ops written by `encodeRedo`; any inconsistency is CORRUPTION (checksums passed). */
export function decodeRedo(data: Uint8Array): RedoOp[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const need = (at: number, n: number): void => {
    if (at + n > data.length) throw corruption('redo record is truncated');
  };
  need(0, 4);
  const count = view.getUint32(0, true);
  let at = 4;
  const bytes = (): Uint8Array => {
    need(at, 4);
    const length = view.getUint32(at, true);
    need(at + 4, length);
    const result = data.slice(at + 4, at + 4 + length);
    at += 4 + length;
    return result;
  };
  const ops: RedoOp[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 3);
    const name = OP_NAMES[view.getUint8(at)];
    const nameBytes = view.getUint16(at + 1, true);
    need(at + 3, nameBytes);
    if (name === undefined || name === '') throw corruption(`redo op code ${view.getUint8(at)} is unknown`);
    const table = decoder.decode(data.subarray(at + 3, at + 3 + nameBytes));
    at += 3 + nameBytes;
    if (name === 'insert') ops.push({ op: name, table, key: bytes(), value: bytes() });
    else if (name === 'remove') ops.push({ op: name, table, key: bytes() });
    else ops.push({ op: name, table });
  }
  if (at !== data.length) throw corruption(`redo record has ${data.length - at} trailing bytes`);
  return ops;
}
