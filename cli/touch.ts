/**
 * `nfs4 touch [-c] [-a|-m] [-d DATE|-t STAMP|-r REF_URL] URL...`: set a
 * file's access and modification times, creating it when missing, as
 * coreutils 9 `touch` does.
 *
 * Without a date the times are set by the server at the moment of the
 * change (SETATTR time_access_set and time_modify_set SET_TO_SERVER_TIME4:
 * the server's clock, as a mount's `touch` gets); with `-d`, `-t` or `-r`
 * they are set to the nanosecond (SET_TO_CLIENT_TIME4). A missing file is
 * created first (OPEN UNCHECKED4, mode 0666 less the umask, never
 * truncated, then CLOSE), unless `-c`; through a symlink that points
 * nowhere the file it names is created. Existing contents are never
 * touched.
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { creationPath } from "../lib/client/create_path.ts";
import {
  type DateSpec,
  parseDateSpec,
  parseTouchStamp,
  type Timestamp,
} from "../lib/client/date_spec.ts";
import { NfsError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import type { FileInfo } from "../lib/client/types.ts";
import { type NfsUrl, parseNfsUrl, urlPath, UsageError } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { currentUmask } from "./umask.ts";

const HELP = `
Without -d, -t or -r the times are the server's clock at the change (as on a
mount); -d, -t and -r set them to the nanosecond. A missing file is created
empty (mode 0666 less the umask) unless -c; an existing file's contents are
never changed.

DATE (-d) is one of (GNU touch takes more, such as 'yesterday' or '+1 day'):
  now                                  the server's clock, as without -d
  @SECONDS[.FRACTION]                  seconds since 1970-01-01 00:00 UTC
  YYYY-MM-DD                           midnight, local time
  YYYY-MM-DD hh:mm[:ss[.FRACTION]]     local time ('T' instead of ' ' too)
  ... followed by Z, UTC, +hh, +hhmm or +hh:mm (or -)  in that zone
Local time is the TZ environment variable's zone, as for coreutils.

STAMP (-t) is [[CC]YY]MMDDhhmm[.ss], local time, as for touch -t.

Examples:
  $ nfs4 touch nfs://server/export/stamp
  $ nfs4 touch -c -m nfs://server/export/log
  $ nfs4 touch -d '2024-01-02 03:04:05.123456789 +01:00' nfs://server/export/f
  $ nfs4 touch -t 202401020304.05 nfs://server/export/f
  $ nfs4 touch -r nfs://server/export/a nfs://server/export/b
`;

/** What times `touch` sets. */
export interface TouchOptions {
  /** `-c`: do not create missing files. */
  readonly noCreate: boolean;
  /** Set the access time (`-a`, or neither `-a` nor `-m`). */
  readonly access: boolean;
  /** Set the modification time (`-m`, or neither). */
  readonly modify: boolean;
  /** The times: the server's clock, or a time for each. */
  readonly times: "server" | { readonly atime: Timestamp; readonly mtime: Timestamp };
  /** The umask for created files (the process's). */
  readonly umask: number;
}

/** Adds `touch` to the program. */
export function registerTouch(program: RootCommand, ctx: CliContext): void {
  program
    .command("touch")
    .description("change file timestamps, creating missing files (like touch)")
    .usage("[options] URL...")
    .argument("<url...>", "nfs:// URLs of files")
    // touch's -h is --no-dereference, which is not there: a usage error, as
    // any option not there is; help stays --help.
    .helpOption("--help", "show help")
    .option("-a", "change only the access time")
    .option("-m", "change only the modification time")
    .option("-c, --no-create", "do not create missing files")
    .option("-d, --date <DATE>", "use DATE instead of the current time (forms below)")
    .option("-t <STAMP>", "use [[CC]YY]MMDDhhmm[.ss] instead of the current time")
    .option("-r, --reference <REF_URL>", "use the times of REF_URL instead of the current time")
    .addOption(
      new Option("--time <WORD>", "change only this time: access, atime, use, modify, mtime")
        .choices(["access", "atime", "use", "modify", "mtime"] as const),
    )
    .addOption(new Option("-f", "(ignored, as by touch)").hideHelp())
    .addHelpText("after", HELP)
    .action(async (operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      if (opts.date !== undefined && opts.t !== undefined) {
        throw new UsageError("cannot specify times from more than one source");
      }
      if (opts.t !== undefined && opts.reference !== undefined) {
        throw new UsageError("cannot specify times from more than one source");
      }
      const timeZone = ctx.io.timeZone;
      const now = ctx.io.now();
      let date: DateSpec | undefined;
      if (opts.date !== undefined) date = parseDateSpec(opts.date, { timeZone, now });
      if (opts.t !== undefined) date = parseTouchStamp(opts.t, { timeZone, now });
      const timeWord = opts.time === undefined
        ? undefined
        : ["access", "atime", "use"].includes(opts.time)
        ? "access"
        : "modify";
      let access = opts.a === true || timeWord === "access";
      let modify = opts.m === true || timeWord === "modify";
      if (!access && !modify) access = modify = true;
      const urls = operands.map(parseNfsUrl);
      const reference = opts.reference !== undefined ? parseNfsUrl(opts.reference) : undefined;
      const session = ctx.session(globals);
      try {
        let times: TouchOptions["times"] = date === undefined || date === "now"
          ? "server"
          : { atime: date, mtime: date };
        // -d with -r: GNU reads DATE relative to the reference's times; the
        // forms taken here are absolute, so DATE wins (now: the server's clock).
        if (reference && date === undefined) {
          // As GNU: a reference that cannot be read ends the command.
          times = referenceTimes(
            reference,
            await (await session.client(reference)).stat(urlPath(reference), { follow: true }),
          );
        }
        await touchUrls(session, urls, {
          noCreate: opts.create === false,
          access,
          modify,
          times,
          umask: currentUmask(),
        });
      } finally {
        await session.close();
      }
    });
}

function nsToTimestamp(ns: bigint): Timestamp {
  const billion = 1_000_000_000n;
  let seconds = ns / billion;
  let rest = ns % billion;
  if (rest < 0n) {
    rest += billion;
    seconds -= 1n;
  }
  return { seconds, nseconds: Number(rest) };
}

/** The access and modification times of the reference file, to the nanosecond. */
function referenceTimes(url: NfsUrl, info: FileInfo): { atime: Timestamp; mtime: Timestamp } {
  const atime = info.atimeNs ??
    (info.atime ? BigInt(info.atime.getTime()) * 1_000_000n : undefined);
  const mtime = info.mtimeNs ??
    (info.mtime ? BigInt(info.mtime.getTime()) * 1_000_000n : undefined);
  if (atime === undefined || mtime === undefined) {
    throw new Error(`${url.text}: the server did not give its access and modification times`);
  }
  return { atime: nsToTimestamp(atime), mtime: nsToTimestamp(mtime) };
}

/** Touches each of `urls`; failures are reported per URL and the rest goes on. */
export async function touchUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: TouchOptions,
): Promise<void> {
  for (const url of urls) {
    try {
      await touchOne(session, url, options);
    } catch (err) {
      session.report(err, url);
    }
  }
}

async function touchOne(
  session: CommandSession,
  url: NfsUrl,
  options: TouchOptions,
): Promise<void> {
  const client = await session.client(url);
  const path = urlPath(url);
  try {
    await client.stat(path, { follow: true });
  } catch (err) {
    // Missing: created, unless -c (then quietly nothing, as touch -c).
    // `new/` names a directory, which touch does not create.
    if (!hasStatus(err, "NFS4ERR_NOENT") || url.trailingSlash) throw err;
    if (options.noCreate) return;
    await create(client, path, options.umask);
  }
  const times = options.times;
  const at = (which: "atime" | "mtime") =>
    times === "server"
      ? "server" as const
      : { seconds: times[which].seconds, nseconds: times[which].nseconds };
  await client.setattrPath(path, {
    ...(options.access ? { timeAccessSet: at("atime") } : {}),
    ...(options.modify ? { timeModifySet: at("mtime") } : {}),
  }, { follow: true });
}

/**
 * Creates the empty file `path` names (through a dangling symlink: the
 * file it points at): OPEN UNCHECKED4 without truncation, then CLOSE. A
 * file that appeared meanwhile is opened as it is and left unchanged.
 */
async function create(client: Nfs4ClientApi, path: string, umask: number): Promise<void> {
  try {
    const where = await creationPath(client, path);
    const file = await client.open(where, {
      access: "write",
      create: "unchecked",
      mode: 0o666 & ~umask,
    });
    await file.close();
  } catch (err) {
    // Named as the user named it (`nodir/x`, not `nodir`), as touch does.
    throw err instanceof NfsError ? err.withPath(path) : err;
  }
}
