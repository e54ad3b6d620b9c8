/**
 * The descriptors above 2 that this process was given when it started (a
 * script's `exec 3>log`, make's jobserver pipe, systemd's `LISTEN_FDS`), so
 * that a command run under nfs4 (`nfs4 lock URL -- COMMAND`) gets them as
 * it would under flock(1), timeout(1) or env(1).
 *
 * Why a snapshot: Bun (the single binary) marks every descriptor it
 * inherited close-on-exec at start-up and gives a child only those named in
 * its stdio, so at spawn time an inherited descriptor looks like one of the
 * runtime's own; COMMAND lost every one of them. Deno and Node leave
 * inherited descriptors as they came (without O_CLOEXEC, as execve(2) left
 * them) and open their own with it. So under Bun every descriptor open when
 * the snapshot is taken, other than the two its event loop opens for itself
 * (BUN_EVENT_LOOP_OWN), counts as given; elsewhere those without O_CLOEXEC do.
 * lib/os/restart_without_ftl.ts keeps the same descriptors across its
 * `execve`.
 * The snapshot must be taken before the runtime or nfs4 opens anything of
 * its own: cli/early_descriptors.ts takes it before any module is loaded
 * that writes to the standard streams (Bun duplicates a piped stdout or
 * stderr at its first write).
 *
 * Linux only (`/proc/self/fd`); elsewhere, or if /proc cannot be read,
 * nothing counts as given.
 * @module
 */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import process from "node:process";

/** O_CLOEXEC in the octal `flags:` line of /proc/PID/fdinfo/N (Linux). */
const O_CLOEXEC = 0o2000000;
/** What Bun's event loop opens for itself at start-up (`/proc/self/fd` link targets). */
const BUN_EVENT_LOOP_OWN = new Set(["anon_inode:[eventpoll]", "anon_inode:[eventfd]"]);

/** The descriptors given at start: number → what `/proc/self/fd/N` named then. */
export interface GivenDescriptors {
  /** Those still open and naming what they named at the snapshot, in ascending order. */
  stillOpen(): number[];
}

function linkOf(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function closeOnExec(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) !== 0;
  } catch {
    return true;
  }
}

/**
 * Takes the snapshot (see the module documentation). `runtimeMarksInherited`
 * says whether the runtime marks inherited descriptors close-on-exec (Bun
 * does); a test may say it.
 */
export function snapshotGivenDescriptors(
  runtimeMarksInherited = process.versions.bun !== undefined,
): GivenDescriptors {
  const given = new Map<number, string>();
  let names: string[] = [];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    // No /proc: nothing counts as given.
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    const link = linkOf(fd);
    // The directory listing's own descriptor is gone by now.
    if (link === undefined) continue;
    if (runtimeMarksInherited ? BUN_EVENT_LOOP_OWN.has(link) : closeOnExec(fd)) continue;
    given.set(fd, link);
  }
  return {
    stillOpen: () =>
      [...given].filter(([fd, link]) => linkOf(fd) === link).map(([fd]) => fd)
        .sort((a, b) => a - b),
  };
}
