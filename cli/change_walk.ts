/**
 * What `chmod` and `chown` share: naming files in `-v`/`-c` lines as
 * coreutils quotes them, the URL of each file a `-R` walk reaches, `-f`
 * (failures counted, not printed), the umask, and coreutils' message for a
 * dangling symlink named on the command line.
 * @module
 */

import process from "node:process";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { NfsError, PathError } from "../lib/client/errors.ts";
import { joinUrl, type NfsUrl } from "../lib/client/url.ts";
import type { CommandSession } from "./context.ts";
import { quoteName } from "./ls_quote.ts";
import { isBrokenPipe } from "./output.ts";

/** How much `-v` (`high`) and `-c` (`changes`) print. */
export type Verbosity = "off" | "changes" | "high";

/** A name as coreutils' quoteaf() writes it in messages: always in single quotes. */
export function quoted(text: string): string {
  return quoteName(text, { style: "shell-escape-always" }).text;
}

/** The URL of the entry `names` below `url` (the URL itself for none). */
export function urlBelow(url: NfsUrl, names: readonly string[]): NfsUrl {
  return names.reduce((at, name) => joinUrl(at, name), url);
}

/** The process's umask (read by setting it and putting it back). */
export function currentUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o022;
  }
}

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
  if (isBrokenPipe(err)) throw err;
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
  if (!(err instanceof NfsError) || err.statusName !== "NFS4ERR_NOENT") return err;
  const link = await client.stat(path, { follow: false }).catch(() => undefined);
  return link?.kind === "symlink" ? new PathError(path, "cannot operate on dangling symlink") : err;
}
