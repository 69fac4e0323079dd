// FaultyVfs with no fault planned: it keeps the same storage contract as every other backend.
import test from 'ava';
import { FaultyVfs } from '../../fault/faultyVfs.js';
import { storageContract } from '../engine/storage.contract.js';

storageContract(test, 'FaultyVfs', async () => ({ vfs: new FaultyVfs(), cleanup: async () => {} }));
