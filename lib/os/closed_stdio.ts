/**
 * Whether a standard descriptor (0, 1, 2) was closed when the program was
 * started (`nfs4 cp - URL <&-`, `nfs4 cat URL >&-`, a cron job or service
 * run without one). The runtime puts /dev/null there itself before any of
 * our code runs, so that reading gives an empty input and writing drops
 * everything: `cp - URL` replaced its destination with an empty file, exit
 * 0, and `cat URL >&-` threw the file away, exit 0, where coreutils fail
 * with EBADF. Bun (the single binary) opens that /dev/null with
 * O_CLOEXEC, which a descriptor inherited across execve(2) never carries
 * (execve closes those), so the two are told apart from
 * `/proc/self/fdinfo`. Deno and Node open it without O_CLOEXEC: there the
 * case is not told (false), as where /proc cannot be read.
 *
 * @example
 * ```ts
 * if (closedAtStart(0)) throw new Error("-: Bad file descriptor");
 * ```
 * @module
 */

import { readFileSync, readlinkSync } from "node:fs";

/** O_CLOEXEC in the octal `flags:` line of /proc/PID/fdinfo/N (Linux). */
const O_CLOEXEC = 0o2000000;

/** See the module documentation. */
export function closedAtStart(fd: 0 | 1 | 2): boolean {
  try {
    if (readlinkSync(`/proc/self/fd/${fd}`) !== "/dev/null") return false;
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) !== 0;
  } catch {
    return false;
  }
}
