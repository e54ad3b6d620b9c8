/**
 * Run by executable_pages_test.ts in Bun (the binary's runtime): releases
 * Bun's executable pages through bun:ffi and prints what it saw, as JSON.
 */

import { readFileSync, readlinkSync } from "node:fs";
import { parseSmaps, releaseExecutablePages } from "../../lib/os/executable_pages.ts";

function executableRss(): number {
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

const before = executableRss();
const released = releaseExecutablePages();
const after = executableRss();
// Work after the release, from code that ran before it.
const mappings = parseSmaps(readFileSync("/proc/self/smaps", "utf8")).length;
console.log(JSON.stringify({ before, released, after, mappings }));
