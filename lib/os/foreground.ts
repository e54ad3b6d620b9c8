/**
 * Whether this process is in the foreground process group of its
 * controlling terminal (`/proc/self/stat`: its process group, field 5,
 * equals the terminal's foreground group, field 8). A key that signals
 * (Ctrl-C's SIGINT) and a terminal's hangup (SIGHUP) reach every process of
 * that group, so a child started in the same group (no `detached`) has
 * them already: passing them on would deliver them twice (`nfs4 lock URL --
 * COMMAND`, where a COMMAND that takes a second Ctrl-C for "abort now"
 * skipped its clean exit). False without a terminal, or where /proc cannot
 * be read (the signal is then passed on, as ever).
 * @module
 */

import { readFileSync } from "node:fs";

/** See the module documentation. */
export function inForegroundGroup(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // After the command name, which may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const tpgid = Number(fields[5]);
    return tpgid > 0 && pgrp === tpgid;
  } catch {
    return false;
  }
}

/** Fields 3-6 of `/proc/PID/stat` (ppid, pgrp, session), after the command name. */
function statIds(pid: number | "self"): { ppid: number; pgrp: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]) };
}

/**
 * Whether a job-control shell can stop and continue this process: its
 * parent is in the same session and another process group (bash running
 * `nfs4 shell` as a job). Otherwise (`ssh -t host nfs4 shell`, `exec nfs4
 * shell`, a terminal emulator's `-e`) the process group is orphaned, and
 * the kernel discards a SIGTSTP sent to it (POSIX: a stop signal to a
 * process of an orphaned group is not acted on): a process that leaves
 * raw mode and sends itself one would run on with the terminal cooked.
 * False where /proc cannot be read.
 */
export function stoppableByJobControl(): boolean {
  try {
    const self = statIds("self");
    const parent = statIds(self.ppid);
    return parent.session === self.session && parent.pgrp !== self.pgrp;
  } catch {
    return false;
  }
}
