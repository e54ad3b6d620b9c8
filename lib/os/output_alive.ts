/**
 * Whether the reader of a pipe or socket this process writes to has gone
 * away, asked without writing to it.
 *
 * A writer learns that its reader is gone when it next writes (EPIPE). A
 * command that writes only when something happens (`tail -f` of an idle
 * file) would never learn it: `nfs4 tail -f URL | head -1` went on after
 * head had exited, holding its open and its client ID on the server, until
 * the file grew. GNU tail asks poll(2) at each sleep interval instead
 * (coreutils tail.c, check_output_alive(), on a FIFO stdout); so does
 * {@linkcode watchOutput}: the write end of a pipe whose readers are all
 * gone reports POLLERR, a Unix-domain stream socket whose peer closed it
 * POLLHUP (lib/os/libc.ts `hungUp()`). A TCP peer's normal close (FIN) is
 * only POLLIN|POLLRDHUP, which says nothing of our writes: there the next
 * write tells (EPIPE), as before.
 *
 * Only for a pipe (FIFO) or a socket: a terminal or a file has no reader to
 * lose (and a terminal's hangup is SIGHUP's). Where the question cannot be
 * asked (not Linux with glibc, FFI not permitted: see lib/os/libc.ts)
 * there is no watch, and the reader's exit is learnt at the next write,
 * as before.
 *
 * @example
 * ```ts
 * const watch = watchOutput(1);
 * if (watch?.readerGone()) console.error("stdout's reader has gone");
 * ```
 * @module
 */

import { libc } from "./libc.ts";

/** A pipe or socket that can be asked whether its reader is gone. */
export interface OutputWatch {
  /** True once the reader has gone: the next write would fail with EPIPE. */
  readerGone(): boolean;
}

/**
 * A watch of `fd` when it is a pipe or a socket and poll(2) can be reached;
 * undefined otherwise (see the module documentation).
 */
export function watchOutput(fd: number): OutputWatch | undefined {
  const c = libc();
  if (c === undefined) return undefined;
  try {
    const type = c.fstat(fd, `fd ${fd}`).mode & S_IFMT;
    if (type !== S_IFIFO && type !== S_IFSOCK) return undefined;
  } catch {
    return undefined; // not open, or not to be told: as before
  }
  return {
    readerGone: () => {
      try {
        return c.hungUp(fd);
      } catch {
        return false; // EBADF, ENOMEM: unknown, the next write tells
      }
    },
  };
}

/** st_mode's file type bits, and those of a FIFO and a socket (Linux). */
const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;
