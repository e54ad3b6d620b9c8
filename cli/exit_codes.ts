/**
 * The exit statuses of `nfs4`, in one place. Only cli/main.ts exits.
 *
 * | status | meaning                                                          |
 * | ------ | ---------------------------------------------------------------- |
 * | 0      | success; also when stdout was closed early (`nfs4 cat … \| head`) |
 * | 1      | an operation failed (missing file, server error, connection)     |
 * | 2      | usage error: bad URL, unknown option, bad option value           |
 * | 125    | `lock`: the lock was lost while held                             |
 * | 129    | stopped by SIGHUP (the terminal closed)                          |
 * | 130    | stopped by SIGINT (Ctrl-C)                                       |
 * | 143    | stopped by SIGTERM                                               |
 *
 * `nfs4 shell` without a terminal ends with its failing verb's status, and
 * `nfs4 lock URL COMMAND` with COMMAND's (README.md, "Exit codes").
 *
 * When stdout is closed before the output is complete (EPIPE), `nfs4` stops
 * quietly with status 0, as `head` and `less` expect of the programs they
 * read from: the reader wanted no more, nothing failed.
 * @module
 */

export const ExitCode = {
  /** Everything asked for was done. */
  OK: 0,
  /** At least one operation failed; the others were still attempted. */
  FAILURE: 1,
  /** The command line was wrong; nothing was attempted. */
  USAGE: 2,
  /** `lock`: the lock was lost while held (cli/lock.ts). */
  LOCK_LOST: 125,
  /** Stopped by SIGINT (Ctrl-C), 128 + 2 as shells report it; state released as far as possible. */
  SIGINT: 130,
  /** Stopped by SIGHUP (its terminal closed), 128 + 1; state released as for SIGTERM. */
  SIGHUP: 129,
  /** Stopped by SIGTERM, 128 + 15. */
  SIGTERM: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Help text describing the exit statuses, shown by `nfs4 --help`. */
export const EXIT_CODES_HELP = `Exit status:
  0  success (also when stdout is closed early, e.g. by head)
  1  an operation failed; with several URLs, the others are still done
  2  usage error: bad URL, unknown option or bad option value
  125  lock: the lock was lost while held
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM, after
     releasing server state for at most 1.5 s
  nfs4 lock URL COMMAND exits with COMMAND's status; nfs4 shell without a
  terminal (or with -c) with its failing verb's, as sh -e does`;
