/**
 * Moving files and trees (`nfs4 mv`) with the semantics of coreutils `mv`:
 * into an existing directory (several sources need one), `-T`, `-t DIR`,
 * `-n` never replaces, `-i` asks first; a directory replaces only an empty
 * directory, never a file, and a file never a directory; a name moved onto
 * itself (or onto another link of the same file) is refused.
 *
 * Within one server (the same `host:port`) a move is one RENAME (RFC 7530
 * §16.26, RFC 8881 §18.26), which replaces an existing target atomically;
 * within the local file system, rename(2). Anywhere else (two servers, a
 * local path and a server, two exports of one server, whose RENAME answers
 * NFS4ERR_XDEV) it is what coreutils does across file systems, copy then
 * remove, with one rule of its own: **the source is removed only once its
 * copy is complete, committed and verified.**
 *
 * 1. The copy engine (lib/client/copy/) copies the source, as `cp -a`
 *    keeps it (mode, owner, times to the nanosecond, hard links inside the
 *    tree, symlinks as symlinks, fifos and devices recreated), to a
 *    temporary name beside the target (`.NAME.nfs4-XXXXXX`); every file's
 *    data is committed (NFS COMMIT with verifiers checked) before it is
 *    renamed into place inside that temporary tree.
 * 2. The copy is checked against the source (move_tree.ts): the same
 *    entries and kinds, every regular file read back from both sides to the
 *    end and compared by size and SHA-256, symlink targets and device
 *    numbers equal. The times those reads moved are put back.
 * 3. Only then is the temporary renamed onto the target (one RENAME: an
 *    existing file or empty directory there is replaced at once), and the
 *    source removed bottom-up, exactly the entries that were checked.
 *
 * Any failure before step 3 (a file that cannot be copied, a server that
 * goes away, a difference found) removes the temporary and keeps the source,
 * with one line saying so. The target is never left half-written: until
 * step 3 it is as it was. A stop (Ctrl-C) removes it too, and a temporary
 * that could not be removed in the stop's window is held in `leftovers`
 * for the caller to name as it exits.
 *
 * A source that is not a directory is copied to the temporary name itself
 * (CopyRunOptions.writeDirectly), not to a temporary of the copy's own
 * renamed onto it: one name to find should it be left, `.NAME.nfs4-XXXXXX`,
 * not `..NAME.nfs4-XXXXXX.nfs4-YYYYYY`. Nothing is lost by it: no one
 * takes the temporary name for the target, and it is renamed onto the
 * target only once the copy is verified.
 * @module
 */

import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import type { Nfs4ClientApi } from "./api.ts";
import { copyWith } from "./copy/copy.ts";
import { LocalSide } from "./copy/local_side.ts";
import { NfsSide } from "./copy/nfs_side.ts";
import {
  CopyError,
  type CopyTuning,
  type CopyTuningOverrides,
  type Leftovers,
  LocalFileError,
  type Location,
  PRESERVE_ALL,
  tuningWith,
} from "./copy/options.ts";
import { reasonOf } from "./copy/preserve.ts";
import { temporaryName } from "./copy/run.ts";
import type { Side, Stat } from "./copy/side.ts";
import { canonical } from "./copy/tree.ts";
import {
  preorder,
  removeTree,
  restoreTimes,
  type TreeNode,
  verifyCopy,
  VerifyError,
  walkTree,
} from "./move_tree.ts";
import {
  dotEnding,
  encodeComponent,
  formatHostPort,
  type NfsUrl,
  parseNfsUrl,
  urlDotEnding,
  urlForPath,
} from "./url.ts";
import { cleanupWork } from "./operation_scope.ts";

/**
 * What a move did, as `mv -v` tells it: one `renamed` per RENAME; across
 * file systems a `created directory` or `copied` per entry of the copy
 * (once it is verified and in place), then a `removed` or
 * `removed directory` per entry of the source. Names are as the user
 * wrote the operands (URLs for NFS, with the entry names percent-encoded).
 */
export type MoveEvent =
  | { readonly kind: "renamed" | "copied"; readonly from: string; readonly to: string }
  | { readonly kind: "created directory"; readonly to: string }
  | { readonly kind: "removed" | "removed directory"; readonly from: string };

/** How to move. */
export interface MoveOptions {
  /** `-n`: never replace an existing target (skipped, not an error). */
  readonly noClobber?: boolean | undefined;
  /** `-i`: asked before an existing target (named as the user would) is replaced; false skips it. */
  readonly confirm?: ((target: string) => Promise<boolean>) | undefined;
  /** `-t DIR`: the destination is a directory the sources go into. */
  readonly targetDirectory?: boolean | undefined;
  /** `-T`: the destination is the new name, even when it is a directory. */
  readonly noTargetDirectory?: boolean | undefined;
  /** The client for the server of `url` (one per server, reused). */
  readonly connect: (url: NfsUrl) => Promise<Nfs4ClientApi>;
  /** Called after each rename, copy, directory made and removal (`mv -v`). */
  readonly onEvent?: ((event: MoveEvent) => void) | undefined;
  /** A source failed; the others are still moved. `url` names its server, if any. */
  readonly onError: (error: unknown, url: NfsUrl | undefined) => void;
  /** Something was not kept (an owner the destination refused): said, not a failure. */
  readonly onWarning?: ((message: string, url: NfsUrl | undefined) => void) | undefined;
  /** Aborting stops the move; a copy in progress is removed, its source kept. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Where a move across file systems keeps its temporary copy from the
   * copy's start until it is renamed onto the target or known removed: the
   * caller names what is still there when it exits after a stop (a
   * temporary whose removal the server did not answer in time).
   */
  readonly leftovers?: Leftovers | undefined;
  /**
   * Aborting ends the move before its next source, the one being moved
   * finished first (`mv -v` whose stdout was closed): no source is left
   * half removed. Thrown with the signal's reason.
   */
  readonly stopBeforeNext?: AbortSignal | undefined;
  /** File mode creation mask of the copy engine (only for what it does not preserve). */
  readonly umask?: number | undefined;
  /** The copy engine's sizes and depths (an undefined one keeps its default). */
  readonly tuning?: CopyTuningOverrides | undefined;
}

/** What a move did. */
export interface MoveSummary {
  /** Sources moved by one rename. */
  renamed: number;
  /** Sources moved by copying, verifying and removing. */
  copied: number;
  /** Sources left alone by `noClobber` or a "no" to `confirm`. */
  skipped: number;
  /** Failures reported through `onError`. */
  errors: number;
}

/** A move refused or failed for a reason of its own; the message is the whole story. */
export class MoveError extends Error {
  /** The server the failure concerns, for messages; undefined for local paths. */
  readonly url: NfsUrl | undefined;

  constructor(message: string, options: { url?: NfsUrl | undefined; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "MoveError";
    this.url = options.url;
  }
}

/** One operand, on its side. */
interface Operand {
  readonly side: Side;
  /** The path on the side (trailing slashes removed). */
  readonly path: string;
  /** As the user typed it. */
  readonly text: string;
  /** It ended in `/` (or `/.`): it must be a directory. */
  readonly slash: boolean;
  /** Which file system namespace: `local`, or the server's `host:port`. */
  readonly key: string;
  readonly location: Location;
}

class MoveRun {
  readonly options: MoveOptions;
  readonly tuning: CopyTuning;
  readonly local: LocalSide;
  readonly summary: MoveSummary = { renamed: 0, copied: 0, skipped: 0, errors: 0 };

  constructor(options: MoveOptions) {
    this.options = options;
    this.tuning = tuningWith(options.tuning);
    this.local = new LocalSide(this.tuning);
  }

  async operand(location: Location): Promise<Operand> {
    if (location.kind === "nfs") {
      const url = location.url;
      const client = await this.options.connect(url);
      return {
        side: new NfsSide(client, url, this.tuning, () => {}),
        path: url.path,
        text: location.text,
        slash: url.trailingSlash,
        key: formatHostPort(url),
        location,
      };
    }
    if (location.kind === "local") {
      const raw = location.path;
      // `d/` and `d/.` name a directory; `/` is just the root.
      const slash = /\/\.?$/.test(raw) && raw.replace(/\/+$/, "") !== "";
      let path = raw.replace(/\/\.$/, "").replace(/\/+$/, "");
      if (path === "") path = raw.startsWith("/") ? "/" : raw;
      return { side: this.local, path, text: location.text, slash, key: "local", location };
    }
    throw new MoveError("'-' (stdin or stdout) cannot be moved");
  }

  event(event: MoveEvent): void {
    this.options.onEvent?.(event);
  }

  fail(error: unknown, url: NfsUrl | undefined): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw signal.reason;
    this.summary.errors++;
    const where = error instanceof MoveError || error instanceof CopyError
      ? error.url ?? url
      : error instanceof LocalFileError
      ? undefined
      : url;
    this.options.onError(error, where);
  }
}

/**
 * Moves `sources` to `dest` as `mv [-n] [-i] [-T | -t DIR] SOURCE... DEST`
 * does (see the module comment). Failures of single sources go to
 * `onError` and the others are still moved; a destination that makes the
 * whole command meaningless (several sources and no directory) is thrown.
 *
 * @example
 * ```ts
 * import { Nfs4Client, parseLocation } from "../../mod.ts";
 *
 * // One client per server, reused for each of its operands, and closed
 * // by the caller at the end.
 * const clients = new Map<string, Promise<Nfs4Client>>();
 * try {
 *   await move(
 *     [parseLocation("nfs://old/export/data")],
 *     parseLocation("nfs://new/export/"),
 *     {
 *       connect: (url) => {
 *         const key = `${url.host}:${url.port}`;
 *         let client = clients.get(key);
 *         if (!client) {
 *           client = Nfs4Client.connect({ host: url.host, port: url.port });
 *           clients.set(key, client);
 *         }
 *         return client;
 *       },
 *       onError: (err) => console.error(err),
 *     },
 *   );
 * } finally {
 *   for (const client of clients.values()) await client.then((c) => c.close(), () => {});
 * }
 * ```
 */
export async function move(
  sources: readonly Location[],
  dest: Location,
  options: MoveOptions,
): Promise<MoveSummary> {
  const run = new MoveRun(options);
  const to = await run.operand(dest);
  let into = false;
  if (options.targetDirectory) {
    const stat = await to.side.stat(to.path, true);
    if (stat?.kind !== "directory") {
      throw new MoveError(
        `target directory '${to.text}': ${stat ? "Not a directory" : "No such file or directory"}`,
        { url: to.side.url },
      );
    }
    into = true;
  } else if (!options.noTargetDirectory) {
    // A symlink to a directory is followed, as coreutils opens the target.
    const stat = await to.side.stat(to.path, true);
    if (to.slash && stat && stat.kind !== "directory") throw notDirectory(to.side, to.text);
    into = stat?.kind === "directory";
    if (sources.length > 1 && !into) {
      throw new MoveError(
        stat
          ? `target '${to.text}' is not a directory`
          : `target '${to.text}': No such file or directory`,
        { url: to.side.url },
      );
    }
  }
  for (const source of sources) {
    options.signal?.throwIfAborted();
    options.stopBeforeNext?.throwIfAborted();
    let url: NfsUrl | undefined = source.kind === "nfs" ? source.url : undefined;
    try {
      const from = await run.operand(source);
      url = from.side.url ?? to.side.url;
      await moveOne(run, from, to, into);
    } catch (e) {
      run.fail(e, url);
    }
  }
  return run.summary;
}

async function moveOne(run: MoveRun, from: Operand, to: Operand, into: boolean): Promise<void> {
  const source = from.text;
  const dot = from.location.kind === "nfs" ? urlDotEnding(from.location.url) : dotEnding(from.text);
  if (dot !== undefined) {
    // `sub/.`, `sub/x/..`: the worked-out path names a directory the user
    // did not name (the directory itself, or its parent); rename(2) refuses
    // both with EBUSY, as GNU mv reports.
    throw new MoveError(
      `cannot move '${source}' to '${
        into ? joinShown(to, [dot]) : to.text
      }': Device or resource busy`,
      { url: from.side.url },
    );
  }
  const stat = await from.side.stat(from.path, false);
  if (!stat) throw notFound(from.side, source);
  let targetPath = to.path;
  let target = to.text;
  if (into) {
    const name = from.side.basename(from.path);
    if (name === "" || name === "." || name === ".." || from.path === "/") {
      throw new MoveError(`cannot move '${source}' into '${to.text}': it has no name of its own`, {
        url: from.side.url,
      });
    }
    if (to.side.kind === "local" && name.includes("/")) {
      // A server's name with a `/` in it (`%2F`, lib/client/names.ts) is
      // no local name: joined, it would name another directory's file.
      throw new MoveError(
        `cannot move '${source}' into '${to.text}': a local file name cannot hold '/'`,
        { url: from.side.url },
      );
    }
    targetPath = to.side.join(to.path, name);
    target = joinShown(to, [name]);
  }
  if (from.slash && stat.kind !== "directory") {
    // `link/` names what a symlink points to, which rename(2) refuses to move.
    throw stat.kind === "symlink"
      ? new MoveError(`cannot move '${source}' to '${target}': Not a directory`, {
        url: from.side.url,
      })
      : notDirectory(from.side, source);
  }
  if (!into && to.slash && stat.kind !== "directory") {
    throw new MoveError(`cannot move '${source}' to '${target}': Not a directory`, {
      url: to.side.url,
    });
  }
  const sameNamespace = from.key === to.key;
  const existing = await to.side.stat(targetPath, false);
  if (existing) {
    // As mv: -n first (even a file onto itself is then left alone), then the checks.
    if (run.options.noClobber) {
      run.summary.skipped++;
      return;
    }
    if (sameNamespace && stat.id !== undefined && stat.id === existing.id) {
      throw new MoveError(`'${source}' and '${target}' are the same file`, { url: to.side.url });
    }
    if (stat.kind === "directory" && existing.kind !== "directory") {
      throw new MoveError(
        `cannot overwrite non-directory '${target}' with directory '${source}'`,
        { url: to.side.url },
      );
    }
    if (stat.kind !== "directory" && existing.kind === "directory") {
      throw new MoveError(`cannot overwrite directory '${target}' with non-directory`, {
        url: to.side.url,
      });
    }
    if (run.options.confirm && !await run.options.confirm(target)) {
      run.summary.skipped++;
      return;
    }
  }
  if (sameNamespace && stat.kind === "directory") {
    const outer = await realPath(from.side, from.path);
    const inner = await realPath(to.side, targetPath);
    if (inner === outer || inner.startsWith(outer === "/" ? "/" : `${outer}/`)) {
      throw new MoveError(`cannot move '${source}' to a subdirectory of itself, '${target}'`, {
        url: from.side.url,
      });
    }
  }
  if (sameNamespace) {
    try {
      await from.side.rename(from.path, targetPath);
      run.summary.renamed++;
      run.event({ kind: "renamed", from: source, to: target });
      return;
    } catch (e) {
      if (!isCrossDevice(e)) throw renameFailure(e, source, target, existing, from.side);
      // Two exports (file systems) of one server: copied, as across servers.
    }
  }
  // Across file systems the source is reached again by its paths (listed,
  // read back, removed entry by entry): none of them may follow a symlink
  // inside it meanwhile (tree_guard.ts), or a directory replaced by one
  // after it was listed would have what the link points to removed.
  const release = guardTree(from.side, stat);
  try {
    await moveAcross(run, from, to, targetPath, target, existing);
  } finally {
    release();
  }
}

/**
 * Guards the tree `stat` describes on `side`, when it is a directory on a
 * side whose paths this client walks (`Side.guardTree`); returns the release.
 */
function guardTree(side: Side, stat: Stat | undefined): () => void {
  return (stat?.kind === "directory" ? side.guardTree?.(stat.path) : undefined) ?? (() => {});
}

/**
 * Copy, verify, put in place, remove the source: a move between two file
 * systems (see the module comment).
 */
async function moveAcross(
  run: MoveRun,
  from: Operand,
  to: Operand,
  targetPath: string,
  target: string,
  existing: Stat | undefined,
): Promise<void> {
  const source = from.text;
  const signal = run.options.signal;
  const failed = (why: string, cause?: unknown) =>
    new MoveError(`cannot move '${source}' to '${target}': ${why}`, {
      url: to.side.url ?? from.side.url,
      cause,
    });
  if (existing?.kind === "directory" && !await isEmptyDirectory(to.side, targetPath)) {
    // rename(2) replaces an empty directory only; coreutils removes it first.
    throw failed("Directory not empty");
  }
  const side = to.side;
  const tempPath = side.join(side.dirname(targetPath), temporaryName(side.basename(targetPath)));
  const tempShown = side.display(tempPath);
  /** A failure's names with the temporary's name replaced by the target's. */
  const shown = (text: string) => text.split(tempShown).join(target);
  /** Why the temporary could not be removed, once its removal failed. */
  let remains: TemporaryLeft | undefined;
  // Held from the copy's start (it may make the temporary at any moment)
  // until it is renamed onto the target or known removed: a stop's last
  // moment names it, as cp names its own.
  const held = run.options.leftovers?.hold((stop) =>
    failed(
      `${reasonOf(stop)}; '${source}' is kept; its temporary '${tempShown}' ${
        remains?.surely ? "is" : "may be"
      } left${side.kind === "nfs" ? " on the server" : ""} (not removed: ${
        remains ? reasonOf(remains.error) : "no answer before the exit"
      })`,
    )
  );
  // Cleanup: not stopped by the soft stop that ended the work (Ctrl-C).
  // Its words for the failure's line; what could not be removed stays held
  // after a stop (the failure is then not said), else the line says it.
  const cleanup = async (): Promise<string> => {
    remains = await cleanupWork(() => removeTemporary(side, tempPath));
    if (remains === undefined || !signal?.aborted) held?.drop();
    if (remains === undefined) return "";
    return `; a partial copy ${remains.surely ? "is" : "may be"} left at '${tempShown}'`;
  };
  const failures: { error: unknown; url: NfsUrl | undefined }[] = [];
  let copyErrors: number;
  try {
    const summary = await copyWith([sourceLocation(from)], locationOf(side, tempPath), {
      recursive: true,
      preserve: PRESERVE_ALL,
      dereference: "never",
      // The temporary name is the move's own: a file is copied to it directly.
      writeDirectly: true,
      connect: run.options.connect,
      onError: (error, url) => failures.push({ error: renamed(error, shown), url }),
      onWarning: (message, url) => run.options.onWarning?.(shown(message), url),
      ...(signal ? { signal } : {}),
      ...(run.options.umask !== undefined ? { umask: run.options.umask } : {}),
      tuning: run.tuning,
    });
    copyErrors = summary.errors;
  } catch (e) {
    await cleanup();
    throw e;
  }
  if (copyErrors > 0 || failures.length > 0) {
    // Removed first: a stop that comes meanwhile ends the reporting (fail()
    // throws its reason), not the removal.
    const left = await cleanup();
    for (const failure of failures) run.fail(failure.error, failure.url);
    throw failed(`the copy failed; '${source}' is kept${left}`);
  }
  // The copy is reached by its paths as well (read back, its times put
  // back, removed if it cannot stay): guarded as the source is.
  const releaseCopy = guardTree(side, await side.stat(tempPath, false).catch(() => undefined));
  try {
    let trees: { source: TreeNode; copy: TreeNode };
    try {
      trees = await verifyCopy(
        { side: from.side, path: from.path },
        { side, path: tempPath },
        { chunkSize: run.tuning.chunkSize, ...(signal ? { signal } : {}) },
      );
    } catch (e) {
      const left = await cleanup();
      if (signal?.aborted) throw signal.reason;
      const where = e instanceof VerifyError
        ? `${e.rel === "" ? "" : `'${joinShown(from, e.rel.split("/"))}': `}${e.reason}`
        : reasonOf(e);
      throw failed(`the copy could not be verified (${where}); '${source}' is kept${left}`, e);
    }
    try {
      // Reading the copy back moved its access times: the source's again.
      await restoreTimes(side, trees.copy);
    } catch (e) {
      run.options.onWarning?.(`${target}: cannot preserve times: ${shown(reasonOf(e))}`, side.url);
    }
    if (run.options.noClobber && await side.stat(targetPath, false)) {
      // Created meanwhile: -n still holds.
      await cleanup();
      run.summary.skipped++;
      return;
    }
    try {
      await side.rename(tempPath, targetPath);
      held?.drop();
    } catch (e) {
      const left = await cleanup();
      if (signal?.aborted) throw signal.reason;
      throw failed(`${shown(reasonOf(e))}; '${source}' is kept${left}`, e);
    }
    // As mv -v: the first name of a file with several links is "copied", the others were linked.
    const linked = new Set<string>();
    for (const node of preorder(trees.source)) {
      const parts = node.rel === "" ? [] : node.rel.split("/");
      const { id, nlink, kind } = node.stat;
      if (kind !== "directory" && id !== undefined && (nlink ?? 1) > 1) {
        if (linked.has(id)) continue;
        linked.add(id);
      }
      run.event(
        node.stat.kind === "directory"
          ? { kind: "created directory", to: joinShown(to, parts, target) }
          : { kind: "copied", from: joinShown(from, parts), to: joinShown(to, parts, target) },
      );
    }
    run.summary.copied++;
    // The source must still be what was copied: the same object (fileid or
    // inode). Two names of one file system (two host names of one server, a
    // local path to the folder behind an export) can make the target the
    // source itself, which the rename has just replaced with the copy;
    // removing "the source" would then remove the copy.
    const now = await from.side.stat(from.path, false).catch(() => undefined);
    const was = trees.source.stat;
    if (!now || was.id === undefined || now.id !== was.id || now.kind !== was.kind) {
      throw new MoveError(
        `'${source}' was not removed: it is no longer what was copied (the same file as '${target}' under another name?); the copy is at '${target}'`,
        { url: from.side.url },
      );
    }
    // The copy is in place and verified: now, and only now, the source goes.
    await removeTree(from.side, trees.source, {
      signal,
      unchanged: true,
      onRemoved: (node) =>
        run.event({
          kind: node.stat.kind === "directory" ? "removed directory" : "removed",
          from: joinShown(from, node.rel === "" ? [] : node.rel.split("/")),
        }),
      onError: (e, node) => {
        const name = joinShown(from, node.rel === "" ? [] : node.rel.split("/"));
        run.fail(
          new MoveError(`cannot remove '${name}': ${reasonOf(e)}`, {
            url: from.side.url,
            cause: e,
          }),
          from.side.url,
        );
      },
    });
  } finally {
    releaseCopy();
  }
}

/** A move's temporary copy that could not be removed, and why. */
interface TemporaryLeft {
  /** The first failure. */
  readonly error: unknown;
  /** Part of it surely is left (a REMOVE refused), not only may be (a failure to look). */
  readonly surely: boolean;
}

/** Removes a move's temporary copy (ours alone); what is left of it, if anything. */
async function removeTemporary(side: Side, path: string): Promise<TemporaryLeft | undefined> {
  try {
    const stat = await side.stat(path, false);
    if (!stat) return undefined;
    const release = guardTree(side, stat);
    try {
      const tree = await walkTree(side, path, stat);
      let first: unknown;
      const result = await removeTree(side, tree, { onError: (e) => void (first ??= e) });
      return result.failed === 0 ? undefined : { error: first, surely: true };
    } finally {
      release();
    }
  } catch (error) {
    return { error, surely: false };
  }
}

/** The source as the copy engine takes it (a local path without its trailing slash). */
function sourceLocation(from: Operand): Location {
  if (from.location.kind === "local") {
    return { kind: "local", path: from.path, text: from.text };
  }
  return from.location;
}

/** `path` on `side` as a copy operand. */
function locationOf(side: Side, path: string): Location {
  if (side.kind === "local" || !side.url) return { kind: "local", path, text: path };
  const text = urlForPath(side.url, path);
  return { kind: "nfs", url: parseNfsUrl(text), text };
}

/**
 * `base` (an operand as typed, or `prefix` for it) with entry names below
 * it, as the user would write them: percent-encoded in a URL.
 */
function joinShown(operand: Operand, names: readonly string[], prefix = operand.text): string {
  if (names.length === 0) return prefix;
  const encoded = operand.side.kind === "nfs" ? names.map(encodeComponent) : names;
  return `${prefix.replace(/\/+$/, "")}/${encoded.join("/")}`;
}

/** Whether a failed rename means "another file system": then copy instead (EXDEV). */
function isCrossDevice(error: unknown): boolean {
  if (error instanceof NfsError) return error.status === S.NFS4ERR_XDEV;
  return (error as { code?: unknown })?.code === "EXDEV";
}

/** A RENAME or rename(2) that failed, said as `cannot move 'S' to 'T': why`. */
function renameFailure(
  error: unknown,
  source: string,
  target: string,
  existing: Stat | undefined,
  side: Side,
): unknown {
  let why: string;
  if (error instanceof NfsError) {
    // A non-empty directory there: NFS4ERR_NOTEMPTY, or NFS4ERR_EXIST (RFC 8881 §18.26.4).
    const notEmpty = error.status === S.NFS4ERR_NOTEMPTY ||
      (error.status === S.NFS4ERR_EXIST && existing?.kind === "directory");
    why = notEmpty ? `Directory not empty (${error.statusName})` : reasonOf(error);
  } else if (error instanceof LocalFileError) {
    why = error.code === "EEXIST" ? "Directory not empty" : reasonOf(error);
  } else {
    return error;
  }
  return new MoveError(`cannot move '${source}' to '${target}': ${why}`, {
    url: side.url,
    cause: error,
  });
}

/** `error` with the temporary's name replaced through `shown`. */
function renamed(error: unknown, shown: (text: string) => string): unknown {
  if (error instanceof NfsError && error.path !== undefined) {
    const path = shown(error.path);
    return path === error.path ? error : error.withPath(path);
  }
  if (error instanceof LocalFileError) {
    const path = shown(error.path);
    return path === error.path ? error : new LocalFileError(path, error.cause);
  }
  if (error instanceof CopyError) {
    const message = shown(error.message);
    return message === error.message
      ? error
      : new CopyError(message, { url: error.url, cause: error.cause });
  }
  return error;
}

async function isEmptyDirectory(side: Side, path: string): Promise<boolean> {
  for await (const _ of side.list(path)) return false;
  return true;
}

/**
 * `path` with the symlinks of its directory resolved (itself not followed),
 * for "a subdirectory of itself": local paths made absolute.
 */
async function realPath(side: Side, path: string): Promise<string> {
  if (side.kind === "local") return await canonical(side, path);
  const parent = await side.stat(side.dirname(path), true).catch(() => undefined);
  return parent ? side.join(parent.path, side.basename(path)) : path;
}

/** "No such file or directory", naming the operand as typed. */
function notFound(side: Side, text: string): Error {
  if (side.kind === "nfs") return new NfsError(S.NFS4ERR_NOENT, "LOOKUP", { path: text });
  return new LocalFileError(text, Object.assign(new Error("not found"), { code: "ENOENT" }));
}

/** "Not a directory", naming the operand as typed. */
function notDirectory(side: Side, text: string): Error {
  if (side.kind === "nfs") return new NfsError(S.NFS4ERR_NOTDIR, "LOOKUP", { path: text });
  return new LocalFileError(text, Object.assign(new Error("not a directory"), { code: "ENOTDIR" }));
}
