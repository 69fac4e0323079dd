/**
 * Page and record checksums: CRC-32 through Node's own `zlib.crc32` (native, no dependency).
 * A checksum of 0 is legal; callers never use 0 as "no checksum".
 */
import { crc32 } from 'node:zlib';

export function checksum(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}
