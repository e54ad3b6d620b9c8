/**
 * Imported by cli/main.ts before any module that writes to the standard
 * streams: the descriptors nfs4 was given (lib/os/given_descriptors.ts) are
 * noted before the runtime opens any of its own. Bun duplicates a piped
 * stdout or stderr at its first write, and under Bun a descriptor counts as
 * given by being open, so a later snapshot handed COMMAND a copy of nfs4's
 * stderr and kept the pipe open after nfs4 ended. Only `lock` runs a
 * COMMAND; other command lines skip the look at /proc.
 * @module
 */

import process from "node:process";
import { type GivenDescriptors, snapshotGivenDescriptors } from "../lib/os/given_descriptors.ts";

/** The descriptors nfs4 was given at start, when its command line may run a COMMAND. */
export const givenAtStart: GivenDescriptors | undefined = process.argv.includes("lock")
  ? snapshotGivenDescriptors()
  : undefined;
