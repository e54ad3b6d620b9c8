/**
 * The copy engine behind `nfs4 cp`: files and trees between local paths,
 * stdin/stdout and NFS servers (one or two), with the semantics of
 * coreutils `cp`.
 *
 * Every regular file and symlink is written under a temporary name in the
 * destination's directory (`.NAME.nfs4-XXXXXX`) and renamed onto the final
 * name only once its data is durable and its attributes are set, so a copy
 * that fails or is interrupted never leaves a destination that looks
 * complete. The temporary is removed on failure.
 *
 * An existing file keeps its owner, group, mode and hard links, as with
 * coreutils: the temporary is given its owner and group before any data
 * goes in, and when it cannot be (an owner we may not give), when the file
 * has more than one link, when the directory refuses the temporary, or with
 * `inplace`, the file is written in place (`file.ts`). Zero blocks of a
 * sparse source are left as holes (`sparse.ts`).
 *
 * Writing to NFS (RFC 7530 §16.36, §16.3; RFC 8881 §18.32, §18.3): OPEN
 * creates the temporary (EXCLUSIVE4_1 on 4.1, EXCLUSIVE4 on 4.0; on 4.1 a
 * small new file's OPEN waits for its data and goes with its WRITE,
 * SETATTR and CLOSE in one COMPOUND, `nfs_create.ts`); WRITEs go
 * out UNSTABLE4, several in flight, in the server's preferred size; every
 * {@linkcode CopyTuning.commitBytes} a COMMIT is sent and its verifier
 * compared with each WRITE's. The data of a window is kept until that
 * comparison succeeds: a WRITE whose verifier differs (the server restarted
 * and may have lost it) is sent again and the window committed again. At
 * most two windows are held (one committing, one filling), so memory is
 * bounded whatever the file size. A final SETATTR sets size, mode and, with
 * `preserve`, the times; then CLOSE and RENAME.
 *
 * Reading from NFS: READs of the server's `maxread`, several in flight (on
 * 4.1 no more than the session has slots for), handed on in order.
 *
 * copy() never closes a client: those its `connect` option gives are the
 * caller's, who may reuse them (the CLI's shell copies, lists and copies
 * again with one client per server) and closes them when done. A program
 * that leaves one open does not exit (its lease renewal keeps it alive).
 *
 * @example
 * ```ts
 * import { copy, Nfs4Client, parseLocation } from "../../../mod.ts";
 *
 * // One server here: one client, made when copy() first asks, closed after.
 * let client: Promise<Nfs4Client> | undefined;
 * try {
 *   const summary = await copy(
 *     [parseLocation("big.iso")],
 *     parseLocation("nfs://127.0.0.1/vfs/"),
 *     {
 *       connect: (url) => client ??= Nfs4Client.connect({ host: url.host, port: url.port }),
 *       onError: (err) => console.error(err),
 *     },
 *   );
 *   console.log(summary.bytes);
 * } finally {
 *   await client?.then((c) => c.close(), () => {});
 * }
 * ```
 * The engine is a folder whose files are its jobs: `options.ts` (operands,
 * options, results, errors), `side.ts` (what both file systems offer),
 * `local_side.ts` and `nfs_side.ts` (the two sides), `nfs_read.ts` and
 * `nfs_writer.ts` (the pipelined data paths), `run.ts` (one run's state),
 * `file.ts` (one file), `tree.ts` (`-r`) and `copy.ts` (the entry point);
 * `local_fs.ts` and `local_path.ts` (local names as exact bytes, times to the
 * nanosecond, through libc), `preserve.ts` and `owners.ts` (what `-p`/`-a`
 * keep: owners translated between the sides, set before modes and times),
 * `nodes.ts` (fifos, sockets, devices and hard links), `sparse.ts` (holes)
 * and `eta.ts` (the progress estimate).
 * @module
 */

export {
  applyPreserveList,
  CopyError,
  type CopyOptions,
  type CopyProgress,
  type CopySummary,
  type CopyTuning,
  type CopyTuningOverrides,
  DEFAULT_TUNING,
  type Dereference,
  IncompleteCopyError,
  type Leftover,
  Leftovers,
  LocalFileError,
  type Location,
  parseLocation,
  PRESERVE_ALL,
  PRESERVE_NONE,
  PRESERVE_P,
  type PreserveChoice,
  type PreserveSet,
  type SparseMode,
  tuningWith,
} from "./options.ts";
export { type CopyCosts, EtaEstimator, type EtaSample, PRIOR_COSTS } from "./eta.ts";
export { HoleFinder, isZero, type Segment, wantsHoles } from "./sparse.ts";
export { pipelinedRead } from "./nfs_read.ts";
export { NfsWriter, type NfsWriterOptions, type WriteTarget } from "./nfs_writer.ts";
export { temporaryName } from "./run.ts";
export { copy } from "./copy.ts";
