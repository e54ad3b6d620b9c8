/**
 * What the executable_pages tests measure, in Deno and in Bun alike: the
 * resident kB of this process's read-only mappings of its executable.
 */

import { readFileSync, readlinkSync } from "node:fs";

/** The resident kB of this process's clean (not writable) mappings of its executable. */
export function executableRss(): number {
  const exe = readlinkSync("/proc/self/exe");
  let rss = 0, inside = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \S+ *(.*)$/.exec(line);
    if (header) inside = header[2] === exe && !header[1]!.includes("w");
    const resident = /^Rss: +(\d+) kB$/.exec(line);
    if (inside && resident) rss += Number(resident[1]);
  }
  return rss;
}
