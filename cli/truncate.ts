/**
 * `nfs4 truncate [-c] [-s [+-<>/%]SIZE] [-r REF_URL] URL...`: shrink or
 * extend files to a size, as coreutils 9 `truncate` does.
 *
 * Each file is opened for writing (OPEN, created with mode 0666 less the
 * umask when missing, unless `-c`; never truncated by the OPEN), its size
 * set with SETATTR under the open stateid, and closed. Bytes below the new
 * size are never read or written; extending makes a hole (zeros).
 *
 * SIZE is GNU's: a decimal number with an optional suffix K, M, G, T, P, E
 * (powers of 1024; `KiB` too) or KB, MB... (powers of 1000); `+` and `-`
 * extend or reduce by it, `<` makes it at most, `>` at least, `/` rounds
 * down and `%` up to a multiple of it.
 * @module
 */

import type { Nfs4ClientApi, WritableFile } from "../lib/client/api.ts";
import { creationPath } from "../lib/client/create_path.ts";
import { NfsError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { type NfsUrl, parseNfsUrl, urlPath, UsageError } from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { currentUmask } from "./umask.ts";

const HELP = `
SIZE is a number with an optional unit: K, M, G, T, P, E (powers of 1024; KiB,
MiB... too) or KB, MB, GB... (powers of 1000); a unit alone is one of it (K).
Before it: + extend by, - reduce by, < at most, > at least, / round down to a
multiple of, % round up to a multiple of. With -r, SIZE must be relative and
applies to REF_URL's size.

A missing file is created (mode 0666 less the umask) unless -c. Only the size
changes (SETATTR under the open): bytes below it are never rewritten, and
extending leaves a hole that reads as zeros.

Examples:
  $ nfs4 truncate -s 0 nfs://server/export/app.log
  $ nfs4 truncate -s 1G nfs://server/export/disk.img
  $ nfs4 truncate -s +4K nfs://server/export/f
  $ nfs4 truncate -s %4096 nfs://server/export/f
  $ nfs4 truncate -r nfs://server/export/a nfs://server/export/b
`;

/** How SIZE applies to a file's size (GNU truncate's rel_mode). */
export type SizeMode = "set" | "relative" | "atMost" | "atLeast" | "roundDown" | "roundUp";

/** A parsed `-s`. */
export interface SizeSpec {
  readonly mode: SizeMode;
  /** The number (negative only for `relative`: `-5`). */
  readonly size: bigint;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
/** GNU truncate's suffixes (xstrtoimax with "EgGkKmMPtTYZ0"); their powers. */
const POWERS: Record<string, bigint> = {
  k: 1n,
  K: 1n,
  m: 2n,
  M: 2n,
  g: 3n,
  G: 3n,
  t: 4n,
  T: 4n,
  P: 5n,
  E: 6n,
  Z: 7n,
  Y: 8n,
};

/**
 * Parses `-s` as GNU truncate reads it; throws {@linkcode UsageError}
 * (`Invalid number: 'TEXT'`, `... Value too large ...`, `division by
 * zero`, `multiple relative modifiers specified`).
 */
export function parseSizeSpec(text: string): SizeSpec {
  let rest = text;
  let mode: SizeMode = "set";
  const first = rest[0];
  if (first === "<") mode = "atMost";
  else if (first === ">") mode = "atLeast";
  else if (first === "/") mode = "roundDown";
  else if (first === "%") mode = "roundUp";
  if (mode !== "set") rest = rest.slice(1);
  rest = rest.replace(/^[ \t\n\v\f\r]+/, "");
  if (rest[0] === "+" || rest[0] === "-") {
    if (mode !== "set") throw new UsageError("multiple relative modifiers specified");
    mode = "relative";
  }
  const invalid = () => new UsageError(`Invalid number: '${text}'`);
  const tooLarge = () =>
    new UsageError(`Invalid number: '${text}': Value too large for defined data type`);
  const m = /^([+-]?)([0-9]*)(.*)$/s.exec(rest)!;
  const [, sign, digits, suffix] = m as unknown as [string, string, string, string];
  let value: bigint;
  if (digits === "") {
    // xstrtol: no number but a unit is one of it (`K` is 1024).
    if (sign !== "" || suffix === "" || POWERS[suffix[0]!] === undefined) throw invalid();
    value = 1n;
  } else {
    value = BigInt(digits);
  }
  if (sign === "-") value = -value;
  if (value > INT64_MAX || value < INT64_MIN) throw tooLarge();
  if (suffix !== "") {
    const power = POWERS[suffix[0]!];
    if (power === undefined) throw invalid();
    const unit = suffix.slice(1);
    let base: bigint;
    if (unit === "") base = 1024n;
    else if (unit === "iB") base = 1024n;
    else if (unit === "B" || unit === "D") base = 1000n;
    else throw invalid();
    value *= base ** power;
    if (value > INT64_MAX || value < INT64_MIN) throw tooLarge();
  }
  if ((mode === "roundDown" || mode === "roundUp") && value === 0n) {
    throw new UsageError("division by zero");
  }
  return { mode, size: value };
}

/**
 * The size a file of `current` bytes gets (GNU truncate's do_ftruncate);
 * throws when it would pass the largest file offset.
 */
export function newSize(spec: SizeSpec, current: bigint): bigint {
  let size: bigint;
  switch (spec.mode) {
    case "set":
      size = spec.size;
      break;
    case "relative":
      size = current + spec.size;
      break;
    case "atMost":
      size = current < spec.size ? current : spec.size;
      break;
    case "atLeast":
      size = current > spec.size ? current : spec.size;
      break;
    case "roundDown":
      size = current - current % spec.size;
      break;
    case "roundUp": {
      const r = current % spec.size;
      size = r === 0n ? current : current - r + spec.size;
      break;
    }
  }
  if (size > INT64_MAX) throw new Error(`overflow extending size of file`);
  return size < 0n ? 0n : size;
}

/** How `truncate` was asked to work. */
export interface TruncateOptions {
  /** `-c`: do not create missing files. */
  readonly noCreate: boolean;
  /** The size asked for. */
  readonly size: SizeSpec;
  /** With `-r`: the size relative sizes apply to, instead of each file's own. */
  readonly base?: bigint | undefined;
  /** The umask for created files (the process's). */
  readonly umask: number;
}

/** Adds `truncate` to the program. */
export function registerTruncate(program: RootCommand, ctx: CliContext): void {
  program
    .command("truncate")
    .description("shrink or extend files to a size (like truncate)")
    .usage("[options] -s SIZE URL...\n       nfs4 truncate [options] -r REF_URL URL...")
    .argument("<url...>", "nfs:// URLs of files")
    .option("-c, --no-create", "do not create missing files")
    .option("-s, --size <SIZE>", "set or adjust the size: [+-<>/%]NUMBER[K|M|G|T|P|E|KB|MB...]")
    .option("-r, --reference <REF_URL>", "base the size on REF_URL's")
    .addHelpText("after", HELP)
    .action(async (operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      if (opts.size === undefined && opts.reference === undefined) {
        throw new UsageError("you must specify either '--size' or '--reference'");
      }
      const size = opts.size !== undefined ? parseSizeSpec(opts.size) : undefined;
      if (size && size.mode === "set" && opts.reference !== undefined) {
        throw new UsageError("you must specify a relative '--size' with '--reference'");
      }
      const urls = operands.map(parseNfsUrl);
      const reference = opts.reference !== undefined ? parseNfsUrl(opts.reference) : undefined;
      const session = ctx.session(globals);
      try {
        let base: bigint | undefined;
        if (reference) {
          // As GNU: a reference that cannot be read ends the command.
          const client = await session.client(reference);
          const info = await client.stat(urlPath(reference), { follow: true });
          if (info.size === undefined) {
            throw new Error(`${reference.text}: the server did not give its size`);
          }
          base = info.size;
        }
        await truncateUrls(session, urls, {
          noCreate: opts.create === false,
          size: size ?? { mode: "set", size: base! },
          base: size ? base : undefined,
          umask: currentUmask(),
        });
      } finally {
        await session.close();
      }
    });
}

/** Sets the size of each of `urls`; failures are reported per URL and the rest goes on. */
export async function truncateUrls(
  session: CommandSession,
  urls: readonly NfsUrl[],
  options: TruncateOptions,
): Promise<void> {
  for (const url of urls) {
    try {
      await truncateOne(session, url, options);
    } catch (err) {
      session.report(err, url);
    }
  }
}

async function truncateOne(
  session: CommandSession,
  url: NfsUrl,
  options: TruncateOptions,
): Promise<void> {
  const client = await session.client(url);
  const path = urlPath(url);
  const file = await openForSize(client, path, url.trailingSlash, options);
  if (!file) return;
  let done = false;
  try {
    const current = options.base ?? file.size;
    if (current === undefined && options.size.mode !== "set") {
      throw new Error(`${url.text}: the server did not give its size`);
    }
    let size: bigint;
    try {
      size = newSize(options.size, current ?? 0n);
    } catch (err) {
      // Name the file, as for every other failure of one of several URLs.
      throw new Error(`${url.text}: ${(err as Error).message}`, { cause: err });
    }
    await file.setattr({ size });
    done = true;
  } finally {
    if (done) await file.close();
    else await file.close().catch(() => {});
  }
}

/**
 * OPEN for writing, creating a missing file unless `-c` (then undefined:
 * nothing to do). Through a dangling symlink the file it names is created,
 * as open(2) with O_CREAT does.
 */
async function openForSize(
  client: Nfs4ClientApi,
  path: string,
  directory: boolean,
  options: TruncateOptions,
): Promise<WritableFile | undefined> {
  // `new/` names a directory: never created as a file.
  const create = options.noCreate || directory
    ? {}
    : { create: "unchecked" as const, mode: 0o666 & ~options.umask };
  try {
    return await client.open(path, { access: "write", ...create });
  } catch (err) {
    if (options.noCreate && hasStatus(err, "NFS4ERR_NOENT")) return undefined;
    // OPEN does not follow a symlink: one to nothing ends in NFS4ERR_SYMLINK.
    if ("create" in create && hasStatus(err, "NFS4ERR_SYMLINK")) {
      const where = await creationPath(client, path);
      if (where !== path) {
        try {
          return await client.open(where, { access: "write", ...create });
        } catch (again) {
          throw again instanceof NfsError ? again.withPath(path) : again;
        }
      }
    }
    throw err instanceof NfsError ? err.withPath(path) : err;
  }
}
