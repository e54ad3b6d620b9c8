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
