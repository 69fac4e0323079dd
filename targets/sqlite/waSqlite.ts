/**
 * Loads SQLite as WebAssembly (wa-sqlite's synchronous build, `dist/wa-sqlite.mjs`) from the
 * targets' package folder, once per process: instantiating the module costs tens of
 * milliseconds, so every case shares it and resets what it keeps between cases (the PRNG).
 * Its identity (package version, SQLite version, the wasm's SHA-256) goes into certificates.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureTargetPackage } from '../targetPackages.js';

export const WA_SQLITE_PACKAGE = '@journeyapps/wa-sqlite';
export const WA_SQLITE_VERSION = '2.0.6';

/** The parts of the Emscripten module the bridge touches. */
export interface WaSqliteModule {
  readonly HEAPU8: Uint8Array;
  UTF8ToString(pointer: number): string;
  _sqlite3_malloc(bytes: number): number;
  _sqlite3_free(pointer: number): void;
  _sqlite3_randomness(bytes: number, pointer: number): void;
}

/** The parts of wa-sqlite's API (src/sqlite-api.js) the target uses. */
export interface SqliteApi {
  vfs_register(vfs: object, makeDefault: boolean): number;
  open_v2(name: string, flags: number, vfsName: string): Promise<number>;
  close(db: number): Promise<number>;
  exec(db: number, sql: string, callback?: (row: unknown[], columns: string[]) => void): Promise<number>;
  statements(db: number, sql: string, options?: { unscoped?: boolean }): AsyncIterable<number>;
  finalize(statement: number): Promise<number>;
  bind_collection(statement: number, bindings: unknown[]): number;
  step(statement: number): Promise<number>;
  row(statement: number): unknown[];
  reset(statement: number): Promise<number>;
  libversion(): string;
}

export interface WaSqlite {
  readonly module: WaSqliteModule;
  readonly sqlite3: SqliteApi;
  /** `@journeyapps/wa-sqlite@2.0.6, SQLite 3.x.y, wasm sha256 …`: the target's identity. */
  readonly identity: string;
}

let loading: Promise<WaSqlite> | null = null;

/** The shared instance, installing the package into the targets' folder on first use. */
export function loadWaSqlite(options: { install?: boolean } = {}): Promise<WaSqlite> {
  loading ??= load(options).catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

async function load(options: { install?: boolean }): Promise<WaSqlite> {
  const dir = await ensureTargetPackage(WA_SQLITE_PACKAGE, WA_SQLITE_VERSION, options);
  const wasmBinary = fs.readFileSync(path.join(dir, 'dist', 'wa-sqlite.wasm'));
  const factory = (await import(pathToFileURL(path.join(dir, 'dist', 'wa-sqlite.mjs')).href) as { default: (options: object) => Promise<WaSqliteModule> }).default;
  const api = await import(pathToFileURL(path.join(dir, 'src', 'sqlite-api.js')).href) as { Factory: (module: WaSqliteModule) => SqliteApi };
  const module = await factory({ wasmBinary });
  const sqlite3 = api.Factory(module);
  const wasmSha256 = createHash('sha256').update(wasmBinary).digest('hex');
  return { module, sqlite3, identity: `${WA_SQLITE_PACKAGE}@${WA_SQLITE_VERSION}, SQLite ${sqlite3.libversion()}, wasm sha256 ${wasmSha256.slice(0, 16)}` };
}
