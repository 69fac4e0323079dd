// WriteBackVfs over real files (FileVfs): it keeps the same storage contract as every other backend.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FileVfs } from '../../engine/fileVfs.js';
import { WriteBackVfs } from '../../fault/writeBackVfs.js';
import { storageContract } from '../engine/storage.contract.js';

storageContract(test, 'WriteBackVfs', async () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-writeback-'));
  return {
    vfs: new WriteBackVfs(new FileVfs(directory)),
    cleanup: async () => fs.rmSync(directory, { recursive: true, force: true }),
  };
});
