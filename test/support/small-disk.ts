/**
 * A real, small file system for disk-full tests: a tmpfs of `sizeMb` (needs root, as CI runs), else a
 * loop-mounted ext4 image of that size (also root), else the reason neither works, for the test's skip.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  path: string;
  kind: 'tmpfs' | 'ext4 image';
  freeBytes(): number;
  unmount(): void;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function mountSmallDisk(sizeMb: number): SmallDisk | { skip: string } {
  const path = mkdtempSync(join(tmpdir(), 'tsunagaru-small-disk-'));
  const disk = (kind: SmallDisk['kind'], cleanup: () => void): SmallDisk => ({
    path,
    kind,
    freeBytes: () => {
      const s = statfsSync(path);
      return s.bavail * s.bsize;
    },
    unmount() {
      try {
        run('umount', ['-l', path]);
      } finally {
        cleanup();
        rmSync(path, { recursive: true, force: true });
      }
    },
  });
  const reasons: string[] = [];
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', path]);
    return disk('tmpfs', () => undefined);
  } catch (err) {
    reasons.push(`tmpfs: ${firstLine(err)}`);
  }
  const image = `${path}.img`;
  try {
    run('truncate', ['-s', `${sizeMb}M`, image]);
    run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
    run('mount', ['-o', 'loop', image, path]);
    return disk('ext4 image', () => rmSync(image, { force: true }));
  } catch (err) {
    rmSync(image, { force: true });
    reasons.push(`loop ext4: ${firstLine(err)}`);
  }
  rmSync(path, { recursive: true, force: true });
  return { skip: `no small disk to fill (run as root, as CI does): ${reasons.join('; ')}` };
}

/**
 * Fills the disk with `file` until at most `leaveBytes` stay free (0: to the brim, until ENOSPC even for
 * a 4 KiB write). Returns the bytes written.
 */
export function fillDisk(disk: SmallDisk, file: string, leaveBytes = 0): number {
  const fd = openSync(join(disk.path, file), 'a');
  let written = 0;
  try {
    for (const chunk of [1024 * 1024, 64 * 1024, 4096, 512]) {
      const buf = Buffer.alloc(chunk, 0x5a);
      while (disk.freeBytes() - chunk >= leaveBytes) {
        try {
          written += writeSync(fd, buf);
        } catch {
          break; // ENOSPC: the next, smaller chunk
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export function removeFill(disk: SmallDisk, file: string): void {
  unlinkSync(join(disk.path, file));
}

const firstLine = (err: unknown) => String((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).split('\n')[0];
