/**
 * What `chmod` and `chown` share: going through each URL and, with `-R`,
 * the tree below it (lib/client/walk.ts: READDIR's attributes, no GETATTR
 * per entry), each file named by its URL; `-f` (failures counted, not
 * printed); and coreutils' message for a dangling symlink named on the
 * command line. With `-R` (without `-L`) the tree is guarded while it is
 * changed (lib/client/tree_guard.ts): no path into it follows a symlink
 * inside it. What is changed, and the `-v`/`-c` lines, are the commands'
 * own.
 * @module
 */

import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { PathError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { type NfsUrl, urlPath } from "../lib/client/url.ts";
import { walk, type WalkEntry, type WalkItem } from "../lib/client/walk.ts";
import type { CommandSession } from "./context.ts";
import { isStdoutFailure } from "./output.ts";
import { urlBelow } from "./walk_output.ts";

/** How much `-v` (`high`) and `-c` (`changes`) print. */
export type Verbosity = "off" | "changes" | "high";

/**
 * Reports a failure of `url`: one line on stderr, or none with `-f`
 * (`silent`); either way the command exits 1 at the end, as coreutils does.
 */
export function reportFailure(
  session: CommandSession,
  err: unknown,
  url: NfsUrl,
  silent: boolean,
): void {
  if (!silent) {
    session.report(err, url);
    return;
  }
  // What report() does besides printing: a signal or a closed stdout ends the command.
  if (isStdoutFailure(err)) throw err;
  if (session.ctx.interruption.signal.aborted) throw session.ctx.interruption.signal.reason;
  session.ctx.failed = true;
}

/**
 * The error to report when following `path` failed with `err`: coreutils'
 * "cannot operate on dangling symlink" when `path` is a symlink to nothing,
 * else `err` itself.
 */
export async function followFailure(
  client: Nfs4ClientApi,
  path: string,
  err: unknown,
): Promise<unknown> {
  if (!hasStatus(err, "NFS4ERR_NOENT")) return err;
  const link = await client.stat(path, { follow: false }).catch(() => undefined);
  return link?.kind === "symlink" ? new PathError(path, "cannot operate on dangling symlink") : err;
}

/** How {@linkcode changeTree} goes through one URL, and what it does at each file. */
export interface ChangeWalk {
  /** `-R`: the tree below the URL too. */
  readonly recursive: boolean;
  /** `-f`: failures are not printed. */
  readonly silent: boolean;
  /** Which symlinks the walk follows (`-H`, `-L`; the URL itself with `start`). */
  readonly follow: "never" | "start" | "always";
  /** A directory before its contents (`pre`, chmod) or after them (`post`, chown). */
  readonly order: "pre" | "post";
  /** The error to report when the URL itself cannot be reached (default: the error). */
  readonly startFailure?: (client: Nfs4ClientApi, path: string, err: unknown) => Promise<unknown>;
  /** Called after the failure to reach `url` was reported (a `-v` line). */
  readonly unreachable: (url: NfsUrl) => Promise<void>;
  /**
   * Changes one file. `path` is what to hand to the client: the URL's own
   * path for the starting point (its trailing `/` checks it is a
   * directory), the walk's below it.
   */
  readonly change: (
    client: Nfs4ClientApi,
    entry: WalkEntry,
    path: string,
    url: NfsUrl,
  ) => Promise<void>;
}

/**
 * Runs `one` on each of `urls`; a failure that escapes it is reported
 * against its URL (or counted, `silent`) and the next URL is still done.
 */
export async function changeUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  silent: boolean,
  one: (url: NfsUrl) => Promise<void>,
): Promise<void> {
  for (const url of urls) {
    try {
      await one(url);
    } catch (err) {
      reportFailure(session, err, url, silent);
    }
  }
}

/**
 * Walks `url` (and, with `recursive`, what is below it) and changes each
 * file the walk reaches. A directory that cannot be read is reported and
 * the walk goes on; in post-order it is then not changed either (fts gives
 * chown FTS_DNR instead of the directory), as GNU chown does.
 */
export async function changeTree(
  session: CommandSession,
  url: NfsUrl,
  how: ChangeWalk,
): Promise<void> {
  const client = await session.client(url);
  const path = urlPath(url);
  // With -R the tree is guarded while it is walked: no path into it
  // follows a symlink inside it (one that replaced a directory since the
  // listing would lead the SETATTRs out of the tree).
  const items = walk(client, path, {
    follow: how.follow,
    order: how.order,
    ...(how.recursive ? { guardTree: true } : { maxDepth: 0 }),
  });
  let next: IteratorResult<WalkItem, void>;
  try {
    next = await items.next();
  } catch (err) {
    const shown = how.startFailure ? await how.startFailure(client, path, err) : err;
    reportFailure(session, shown, url, how.silent);
    await how.unreachable(url);
    return;
  }
  let unread: string | undefined;
  try {
    for (; !next.done; next = await items.next()) {
      const item = next.value;
      const at = urlBelow(url, item.names);
      if (item.kind === "failure") {
        reportFailure(session, item.error, at, how.silent);
        await how.unreachable(at);
        unread = item.path;
        continue;
      }
      if (item.path === unread) continue;
      await how.change(client, item, item.depth === 0 ? path : item.path, at);
    }
  } finally {
    // Ends the walk (and its guard) when a failure ends this loop early.
    await items.return(undefined);
  }
}
