/**
 * `nfs4 ln [-s] [-f|-i] [-n] [-v] [-L|-P] [-T | -t DIR] TARGET... LINK_NAME|DIR`:
 * make links on an NFS server, with the semantics of coreutils `ln`: hard
 * links with LINK (RFC 7530 §16.9; the target on the same server, a symlink
 * target not followed unless -L), symbolic links with CREATE of an NF4LNK
 * (§16.4) whose text is TARGET exactly as given, byte for byte.
 *
 * `-f` replaces an existing LINK_NAME (not a directory) atomically: the new
 * link is made under a temporary name beside it and renamed onto it, so the
 * name never goes missing, as coreutils 9 does.
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { temporaryName } from "../lib/client/copy/mod.ts";
import { reasonOf } from "../lib/client/copy/preserve.ts";
import { NfsError } from "../lib/client/errors.ts";
import { hasStatus } from "../lib/client/has_status.ts";
import { cleanupWork } from "../lib/client/operation_scope.ts";
import { childPath, nameOfComponent } from "../lib/client/names.ts";
import type { FileInfo } from "../lib/client/types.ts";
import {
  encodeComponent,
  formatHostPort,
  type NfsUrl,
  parseNfsUrl,
  UsageError,
} from "../lib/client/url.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { type Ask, withStdinAsk } from "./prompt.ts";
import { quoted } from "./quoted.ts";
import { splitTargetOperands } from "./target_operands.ts";

/** How `ln` was asked to link. */
export interface LnOptions {
  /** `-s`: symbolic links holding TARGET as given. */
  readonly symbolic: boolean;
  /** `-f` (`force`) removes (replaces) an existing LINK_NAME; `-i` asks first. */
  readonly overwrite: "none" | "force" | "interactive";
  /** `-n`: LINK_NAME that is a symlink to a directory is a file to replace, not a directory. */
  readonly noDereference: boolean;
  /** `-L`: a hard link to what a symlink TARGET points to (default -P: to the symlink). */
  readonly logical: boolean;
  /** `-t DIR`: the last operand is a directory to link into. */
  readonly targetDirectory: boolean;
  /** `-T`: LINK_NAME is the name, even when it is a directory. */
  readonly noTargetDirectory: boolean;
  /** `-v`: `'LINK' => 'TARGET'` (hard) or `'LINK' -> 'TARGET'` (symbolic). */
  readonly verbose: boolean;
}

const HELP = `
Operands:
  LINK_NAME and DIR are nfs:// URLs. As with ln: with several TARGETs, or a
  last operand that is an existing directory (or a symlink to one, unless -n),
  each link is made in it under the TARGET's last name; -T makes the last
  operand the link's name in any case, -t DIR names the directory first.

Hard links (the default): each TARGET is an nfs:// URL on the same server as
the link (LINK on another server or a local path: "Invalid cross-device
link"); a TARGET that is a symlink is linked itself (-P, as GNU ln on Linux),
or what it points to with -L. Directories cannot be hard-linked.

Symbolic links (-s): TARGET is stored exactly as typed, byte for byte, never
resolved or checked (it may dangle), as ln -s does: it is a path as the
clients of the server will see it, relative to the link's directory or
absolute in their mount. A TARGET that looks like an nfs:// URL is stored
as that text too, with a warning (a symlink cannot hold a URL).

Replacing:
  Without -f an existing LINK_NAME is an error ("File exists"). -f replaces
  it (never a directory) atomically: the link is made under a temporary name
  beside it and renamed onto it. -i asks "replace 'LINK'?" on stderr and
  reads the answer from stdin (y or Y: yes). The last of -f and -i wins.

Examples:
  $ nfs4 ln nfs://srv/export/data.bin nfs://srv/export/data.bin.bak
  $ nfs4 ln -s ../shared/config.yml nfs://srv/export/app/config.yml
  $ nfs4 ln -sfn releases/v2 nfs://srv/export/current
  $ nfs4 ln -v nfs://srv/export/a nfs://srv/export/b nfs://srv/export/dir/
`;

/** Adds `ln` to the program. */
export function registerLn(program: RootCommand, ctx: CliContext): void {
  let overwrite: LnOptions["overwrite"] = "none";
  let logical = false;
  let targetDirectory: string | undefined;
  let noTargetDirectory = false;
  program
    .command("ln")
    .description("make hard or symbolic links on an NFS server (like ln)")
    .usage(
      "[options] TARGET LINK_NAME\n       nfs4 ln [options] TARGET... DIR\n" +
        "       nfs4 ln [options] -t DIR TARGET...",
    )
    .argument("<operands...>", "TARGET... LINK_NAME|DIR (nfs:// URLs; with -s TARGET is text)")
    .option("-s, --symbolic", "make symbolic links instead of hard links")
    .option("-f, --force", "replace an existing LINK_NAME (atomically)")
    .option("-i, --interactive", "ask before replacing an existing LINK_NAME")
    .option("-n, --no-dereference", "treat LINK_NAME as a file if it is a symlink to a directory")
    .option("-L, --logical", "hard link to what a symlink TARGET points to")
    .option("-P, --physical", "hard link to a symlink TARGET itself (the default)")
    .addOption(new Option("-t, --target-directory <DIR>", "make the links in DIR"))
    .addOption(new Option("-T, --no-target-directory", "treat LINK_NAME as a normal file always"))
    .addOption(new Option("-v", "print each link made (--verbose is the global option)"))
    .on("option:force", () => overwrite = "force")
    .on("option:interactive", () => overwrite = "interactive")
    .on("option:logical", () => logical = true)
    .on("option:physical", () => logical = false)
    .on("option:target-directory", (dir: string) => targetDirectory = dir)
    .on("option:no-target-directory", () => noTargetDirectory = true)
    .addHelpText("after", HELP)
    .action(async (operands, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const { sources: targets, dest: linkText } = splitTargetOperands(
        operands,
        { targetDirectory, noTargetDirectory },
        (first) =>
          `missing link name after '${first}' (there is no current directory on the server)`,
      );
      if (!/^nfs:\/\//i.test(linkText)) {
        throw new UsageError(
          `${linkText}: not an nfs:// URL (nfs4 ln makes links on NFS servers; use ln for local ones)`,
        );
      }
      const link = parseNfsUrl(linkText);
      // Hard link targets are URLs: a malformed one is a usage error before anything is done.
      if (opts.symbolic !== true) {
        for (const target of targets) if (/^nfs:\/\//i.test(target)) parseNfsUrl(target);
      }
      const session = ctx.session(globals);
      try {
        await withStdinAsk(ctx, (ask) =>
          lnCommand(session, targets, link, {
            symbolic: opts.symbolic === true,
            overwrite,
            noDereference: opts.dereference === false,
            logical,
            targetDirectory: targetDirectory !== undefined,
            noTargetDirectory,
            verbose: opts.v === true,
          }, ask));
      } finally {
        await session.close();
      }
    });
}

/** A link refused or failed; the message is the whole story. */
export class LinkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LinkError";
  }
}

/**
 * Makes a link to each of `targets` at `link` (or in it, when it is a
 * directory): each failure is reported on one line and the other targets
 * are still linked (the command then exits 1). `ask` answers `-i`'s
 * questions. Returns how many links were made.
 */
export async function lnCommand(
  session: CommandSession,
  targets: readonly string[],
  link: NfsUrl,
  options: LnOptions,
  ask: Ask,
): Promise<number> {
  const client = await session.client(link);
  let into = false;
  if (options.targetDirectory) {
    const dir = await statOrUndefined(client, link.path, true);
    if (dir?.kind !== "directory") {
      throw new LinkError(
        `target directory '${link.text}': ${dir ? "Not a directory" : "No such file or directory"}`,
      );
    }
    into = true;
  } else if (!options.noTargetDirectory) {
    // A symlink to a directory is one, unless -n (then it is a name to replace).
    const dir = await statOrUndefined(client, link.path, !options.noDereference);
    into = dir?.kind === "directory";
    if (targets.length > 1 && !into) {
      throw new LinkError(`target '${link.text}' is not a directory`);
    }
  }
  let made = 0;
  for (const target of targets) {
    session.ctx.interruption.signal.throwIfAborted();
    try {
      if (await linkOne(session, client, target, link, into, options, ask)) made++;
    } catch (err) {
      session.report(err, link);
    }
  }
  return made;
}

/**
 * Whether `url` names the server `client` (connected for `link`) is: by
 * who the server is, as cp tells a file copied onto itself
 * (`Nfs4ClientApi.serverIdentity`: its 4.1 server owner, else the address
 * connected to, so `localhost` and `127.0.0.1` are one), not by the URLs'
 * text. Another spelling is connected to, to ask.
 */
async function sameServer(
  session: CommandSession,
  client: Nfs4ClientApi,
  link: NfsUrl,
  url: NfsUrl,
): Promise<boolean> {
  if (formatHostPort(url) === formatHostPort(link)) return true;
  const ours = client.serverIdentity?.();
  const theirs = (await session.client(url)).serverIdentity?.();
  return ours !== undefined && ours === theirs;
}

async function linkOne(
  session: CommandSession,
  client: Nfs4ClientApi,
  target: string,
  link: NfsUrl,
  into: boolean,
  options: LnOptions,
  ask: Ask,
): Promise<boolean> {
  const kind = options.symbolic ? "symbolic link" : "hard link";
  let targetPath: string | undefined;
  let targetInfo: FileInfo | undefined;
  if (options.symbolic) {
    if (/^nfs:\/\//i.test(target)) {
      session.ctx.error(
        `warning: ${
          quoted(target)
        }: stored as the symlink's text as it is; a symlink holds a path, not a URL`,
      );
    }
  } else {
    if (!/^nfs:\/\//i.test(target)) {
      throw new LinkError(
        `cannot create hard link to '${target}': Invalid cross-device link (a local path; the link is on ${
          formatHostPort(link)
        })`,
      );
    }
    const url = parseNfsUrl(target);
    if (!await sameServer(session, client, link, url)) {
      throw new LinkError(
        `cannot create hard link to '${target}' on ${
          formatHostPort(link)
        }: Invalid cross-device link (another server)`,
      );
    }
    try {
      targetInfo = await client.stat(url.path, { follow: options.logical || url.trailingSlash });
    } catch (e) {
      // Named as typed: `nfs4: nfs://srv/vfs/x: No such file or directory (NFS4ERR_NOENT)`.
      throw e instanceof NfsError ? e.withPath(target) : e;
    }
    if (targetInfo.kind === "directory") {
      throw new LinkError(`${quoted(target)}: hard link not allowed for directory`);
    }
    targetPath = options.logical ? targetInfo.path : url.path;
  }
  // Where the link goes, and how it is named in messages.
  let linkPath = link.path;
  let shown = link.text;
  if (into) {
    const name = lastName(target, options.symbolic);
    if (name === undefined) {
      throw new LinkError(`cannot make a link to '${target}' in a directory: it has no name`);
    }
    linkPath = childPath(link.path, name);
    shown = `${link.text.replace(/\/+$/, "")}/${encodeComponent(name)}`;
  }
  const failed = (why: string, cause?: unknown) =>
    new LinkError(
      `failed to create ${kind} ${quoted(shown)} ${options.symbolic ? "->" : "=>"} ${
        quoted(target)
      }: ${why}`,
      { cause },
    );
  const existing = await statOrUndefined(client, linkPath, false);
  if (!into && link.trailingSlash && existing?.kind !== "directory") {
    throw failed(existing ? "File exists" : "No such file or directory");
  }
  const make = async (path: string) => {
    try {
      if (options.symbolic) await client.symlink(path, target);
      else await client.link(targetPath!, path);
    } catch (e) {
      throw failed(reasonOf(e), e);
    }
  };
  if (existing && options.overwrite !== "none") {
    if (existing.kind === "directory") {
      throw new LinkError(`${quoted(shown)}: cannot overwrite directory`);
    }
    const alreadyLinked = !options.symbolic && targetInfo !== undefined &&
      sameFile(targetInfo, existing);
    if (alreadyLinked && (targetInfo!.nlink === 1 || targetInfo!.path === existing.path)) {
      throw new LinkError(`${quoted(target)} and ${quoted(shown)} are the same file`);
    }
    if (
      options.overwrite === "interactive" && !await ask(`replace ${quoted(shown)}?`)
    ) {
      return false;
    }
    // Atomically: the new link beside it, then renamed onto it.
    const slash = linkPath.lastIndexOf("/");
    const temp = childPath(
      linkPath.slice(0, slash),
      temporaryName(nameOfComponent(linkPath.slice(slash + 1))),
    );
    try {
      await make(temp);
    } catch (e) {
      // Stopped with the CREATE or LINK in flight, or its outcome unknown:
      // the temporary may be there, and by its name it can only be ours.
      await cleanupWork(() => client.remove(temp)).catch(() => undefined);
      throw e;
    }
    try {
      await client.rename(temp, linkPath);
    } catch (e) {
      // Cleanup: not stopped by the soft stop that ended the work (Ctrl-C).
      await cleanupWork(() => client.remove(temp)).catch(() => undefined);
      throw failed(reasonOf(e), e);
    }
    // Two links of one file: the RENAME did nothing (RFC 7530 §16.26.4) and
    // the temporary is still there (coreutils' rename(2) does the same).
    if (alreadyLinked) {
      await cleanupWork(() => client.remove(temp)).catch((e) => {
        if (!hasStatus(e, "NFS4ERR_NOENT")) throw e;
      });
    }
  } else {
    await make(linkPath);
  }
  await printMade(session, options, shown, target);
  return true;
}

/**
 * `-v`: `'LINK' => 'TARGET'` for a hard link, `'LINK' -> 'TARGET'` for a
 * symbolic one. A closed stdout is thrown (it ends the command quietly).
 */
async function printMade(
  session: CommandSession,
  options: LnOptions,
  shown: string,
  target: string,
): Promise<void> {
  if (!options.verbose) return;
  const arrow = options.symbolic ? "->" : "=>";
  await session.out.write(`${quoted(shown)} ${arrow} ${quoted(target)}\n`);
}

/**
 * The name a link to `target` gets in a directory: the last name of the
 * URL's path (hard links), or of the text (symbolic links), trailing
 * slashes ignored; undefined when there is none (`/`, `..`).
 */
function lastName(target: string, symbolic: boolean): string | undefined {
  let name: string;
  if (!symbolic || /^nfs:\/\//i.test(target)) {
    let url: NfsUrl;
    try {
      url = parseNfsUrl(target);
    } catch {
      return undefined;
    }
    name = url.components.at(-1) ?? "";
  } else {
    const trimmed = target.replace(/\/+$/, "");
    name = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  }
  return name === "" || name === "." || name === ".." ? undefined : name;
}

/**
 * Whether two stats are of one file: the same fileid on the same file
 * system (a fileid is unique within one only, RFC 7530 §5.8.1.9). Without
 * fsids, a file is taken to be on the file system of its export, the
 * first component of its path.
 */
function sameFile(a: FileInfo, b: FileInfo): boolean {
  if (a.fileid === undefined || a.fileid !== b.fileid) return false;
  if (a.fsid !== undefined && b.fsid !== undefined) return a.fsid === b.fsid;
  const exportOf = (info: FileInfo) => info.path.split("/")[1];
  return exportOf(a) === exportOf(b);
}

async function statOrUndefined(
  client: Nfs4ClientApi,
  path: string,
  follow: boolean,
): Promise<FileInfo | undefined> {
  try {
    return await client.stat(path, { follow });
  } catch (e) {
    if (hasStatus(e, "NFS4ERR_NOENT")) return undefined;
    throw e;
  }
}
