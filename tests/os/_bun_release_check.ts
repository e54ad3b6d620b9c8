/**
 * Run by executable_pages_test.ts in Bun (the binary's runtime): releases
 * Bun's executable pages through bun:ffi and prints what it saw, as JSON.
 */

import { readFileSync } from "node:fs";
import { parseSmaps, releaseExecutablePages } from "../../lib/os/executable_pages.ts";
import { executableRss } from "./_executable_rss.ts";

const before = executableRss();
const released = releaseExecutablePages();
const after = executableRss();
// Work after the release, from code that ran before it.
const mappings = parseSmaps(readFileSync("/proc/self/smaps", "utf8")).length;
console.log(JSON.stringify({ before, released, after, mappings }));
