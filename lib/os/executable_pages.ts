/**
 * Gives the executable's start-up pages back once start-up is over
 * (issue 19: peak memory).
 *
 * Why: the single binary is Bun's runtime with our code inside, about 100 MB
 * of machine code and read-only data mapped from the file. Starting up
 * touches some 40 MB of it (Linux maps up to 64 KiB around each page a fault
 * needs), and every page mapped stays in the process's resident set, and in
 * its RSS, for as long as it runs, although a command that then streams a
 * file runs only a part of that code again. Measured (1 GiB `cat`, the
 * binary): peak RSS 65-67 MB, of which 40-43 MB are pages of the executable;
 * released after 250 ms, 56-58 MB, and a 16 GiB read 87 → 74 MB, at the same
 * CPU.
 *
 * How: `madvise(MADV_DONTNEED)` over each mapping of the executable that can
 * only hold the file's own bytes. The pages stay in the page cache; one the
 * process needs again is mapped again at its next use (a minor fault, no
 * I/O). A private mapping's page that was ever written (the relocated
 * RELRO segment, a debugger's breakpoint) is an anonymous copy that
 * DONTNEED would throw away, putting the file's bytes back in its place: so
 * only mappings that are not writable and whose `/proc/self/smaps` entry says
 * `Anonymous: 0 kB` are released. Written pages cannot appear in a mapping
 * that is not writable between the check and the call.
 *
 * Linux only, through lib/os/libc.ts (`bun:ffi` in the binary, `Deno.dlopen`
 * under `deno run -A`); elsewhere, or on any failure, nothing is released and
 * nothing else changes.
 * @module
 */

import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import { libc } from "./libc.ts";

/** One mapping of `/proc/self/smaps`: its range, permissions, path and anonymous size. */
export interface SmapsMapping {
  readonly start: bigint;
  readonly end: bigint;
  /** `r-xp` and so on. */
  readonly perms: string;
  /** The mapped file's path, or "" (or a pseudo-path such as `[heap]`). */
  readonly path: string;
  /** Anonymous (copied-on-write or never file-backed) kB, or undefined if not listed. */
  readonly anonymousKb: number | undefined;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+ *(.*)$/;
const ANONYMOUS = /^Anonymous: +(\d+) kB$/;

/** Parses the text of `/proc/<pid>/smaps` (proc(5)); lines it does not know are skipped. */
export function parseSmaps(text: string): SmapsMapping[] {
  const mappings: {
    start: bigint;
    end: bigint;
    perms: string;
    path: string;
    anonymousKb: number | undefined;
  }[] = [];
  for (const line of text.split("\n")) {
    const header = HEADER.exec(line);
    if (header) {
      mappings.push({
        start: BigInt(`0x${header[1]}`),
        end: BigInt(`0x${header[2]}`),
        perms: header[3]!,
        path: header[4]!,
        anonymousKb: undefined,
      });
      continue;
    }
    const anonymous = ANONYMOUS.exec(line);
    const current = mappings[mappings.length - 1];
    if (anonymous && current) current.anonymousKb = Number(anonymous[1]);
  }
  return mappings;
}

/**
 * The mappings of `executable` that hold nothing but the file's bytes: not
 * writable, and shown with `Anonymous: 0 kB` (a mapping whose count is
 * missing is left alone).
 */
export function releasableMappings(
  mappings: readonly SmapsMapping[],
  executable: string,
): SmapsMapping[] {
  return mappings.filter((m) =>
    m.path === executable && !m.perms.includes("w") && m.anonymousKb === 0 && m.end > m.start
  );
}

/**
 * Releases the executable's clean pages from the resident set (see the
 * module's note). Returns the bytes of the mappings released; 0 where
 * nothing could be (not Linux, no FFI, an unreadable `/proc`).
 *
 * @example
 * ```ts
 * setTimeout(releaseExecutablePages, 250).unref(); // once start-up is over
 * ```
 */
export function releaseExecutablePages(): number {
  if (process.platform !== "linux") return 0;
  let released = 0;
  try {
    const c = libc();
    if (!c) return 0;
    const executable = readlinkSync("/proc/self/exe");
    const mappings = parseSmaps(readFileSync("/proc/self/smaps", "utf8"));
    for (const m of releasableMappings(mappings, executable)) {
      c.dontNeed(m.start, m.end - m.start);
      released += Number(m.end - m.start);
    }
    return released;
  } catch {
    return released; // no /proc, or madvise refused: the rest stay, as they would have
  }
}
