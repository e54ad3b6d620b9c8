/**
 * Copying one file or symlink: through a temporary name in the destination's
 * directory, renamed onto the final name once its data is durable and its
 * attributes are set; or, to overwrite a file a temporary could not stand
 * in for (hard links, an owner we may not give, a directory we may not
 * write), in place.
 * @module
 */

import { CreatedFileLeftError } from "../client.ts";
import { cleanupWork } from "../operation_scope.ts";
import { NfsError } from "../../nfs4/errors.ts";
import { Nfs4Status as S } from "../../nfs4/status.ts";
import {
  RecoveryTimeoutError,
  SendWaitTimeoutError,
  ServerNotRespondingError,
} from "../../state/manager.ts";
import { CopyError, IncompleteCopyError, LocalFileError, SourceChangedError } from "./options.ts";
import {
  type FinalAttrs,
  isSpecial,
  type Ownership,
  type Reader,
  type Side,
  type Stat,
  type Writer,
} from "./side.ts";
import { type CopyRun, finalAttrs, type Leftover, temporaryName } from "./run.ts";
import { HoleFinder, type Segment, wantsHoles } from "./sparse.ts";
import { localFs } from "./local_fs.ts";
import {
  applyAttrs,
  isOwnerRefused,
  keptTimes,
  modeSettable,
  modeWithoutOwner,
  ownershipFor,
  ownershipKept,
  ownershipNotKept,
  reasonOf,
} from "./preserve.ts";

export interface Endpoint {
  readonly side: Side;
  readonly path: string;
}

/** Where the data of one file comes from. */
type FileSource =
  | { readonly kind: "side"; readonly at: Endpoint; readonly stat: Stat }
  | {
    readonly kind: "stdin";
    readonly chunks: AsyncIterable<Uint8Array>;
    /** A local fifo or device read the same way, as the user named it (stdin: `-`). */
    readonly shownAs?: string;
  };

const STDIN_STAT: Stat = {
  kind: "file",
  size: undefined,
  mode: 0o666,
  mtime: undefined,
  atime: undefined,
  id: undefined,
  path: "-",
};

/**
 * Whether a local file and a server's (`a`, `b`, either way round) are one
 * file seen both ways: the export served from this host, or a local NFS
 * mount of it. Their identities cannot match (a device against a server),
 * but the server's fileid is the file's inode there (Ganesha's VFS, knfsd,
 * a mount's st_ino), and with the same size and mtime to the nanosecond two
 * different files are not told apart this way. Copied onto itself, the file
 * would be emptied by the truncating open before a byte was read.
 */
function seenBothWays(
  a: Pick<Stat, "inode" | "size" | "mtime">,
  b: Pick<Stat, "inode" | "size" | "mtime">,
): boolean {
  return a.inode !== undefined && a.inode === b.inode &&
    a.size !== undefined && a.size === b.size &&
    a.mtime !== undefined && b.mtime !== undefined &&
    a.mtime.seconds === b.mtime.seconds && a.mtime.nseconds === b.mtime.nseconds;
}

/**
 * Copies one regular file to `dest` on a side, checking the destination like
 * cp. A new file is written to a temporary next to it and renamed into
 * place. An existing file is replaced the same way when the temporary can
 * be made exactly like it (one link, its owner and group settable, the
 * directory writable, no extended attributes, not a mount root:
 * Side.writtenInPlace); otherwise, or with `inplace`, it is written in place
 * (emptied, written, its size set), keeping its inode, owner, group, mode
 * and links as coreutils does. Returns false when `noClobber` or `update`
 * left an existing file alone.
 */
export async function copyFile(run: CopyRun, source: FileSource, dest: Endpoint): Promise<boolean> {
  const { side } = dest;
  let target = dest.path;
  // In a directory this copy made on a server, the name is new: no LOOKUP
  // to learn that (a quarter of the COMPOUNDs of a tree copied to a server,
  // 19% of the client's CPU and of the server's), and the temporary then
  // takes the name only while it is free (LINK, which fails on a name
  // taken), so a file someone else put there meanwhile is never replaced, as
  // cp opens with O_EXCL in a directory it made.
  const isNew = side.kind === "nfs" && run.madeByThisCopy(side, side.dirname(target));
  // Made directly (mv's temporary, CopyRunOptions.writeDirectly): a name
  // nothing holds, made with an exclusive create, which fails should
  // anything be there after all; nothing is looked up or replaced.
  const direct = run.writesDirectly(side, target);
  let existing = isNew || direct ? undefined : await side.stat(target, false);
  /** -f: the destination to remove once the source is open. */
  let removeFirst: string | undefined;
  if (existing?.kind === "symlink") {
    // cp writes through a symlink at the destination.
    const followed = await side.stat(target, true);
    if (!followed) {
      throw new CopyError(`not writing through dangling symlink '${side.display(target)}'`, {
        url: side.url,
      });
    }
    existing = followed;
    target = followed.path;
  }
  const sourceStat = source.kind === "side" ? source.stat : STDIN_STAT;
  // A fifo or a device at the destination is written into, as cp does
  // (`cp f /dev/null` writes to /dev/null): never replaced by a regular file.
  let intoSpecial = existing !== undefined && isSpecial(existing.kind);
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(target)}' with non-directory`,
        { url: side.url },
      );
    }
    if (
      source.kind === "side" &&
      (existing.id !== undefined && existing.id === sourceStat.id ||
        source.at.side.kind !== side.kind && seenBothWays(sourceStat, existing))
    ) {
      // Both named as given (`cp a sla`: 'a' and 'sla', as GNU cp says),
      // not by the file a symlink at the destination led to.
      throw new CopyError(
        `'${source.at.side.display(source.at.path)}' and '${
          side.display(dest.path)
        }' are the same file`,
        { url: side.url },
      );
    }
    if (source.kind === "stdin" && source.shownAs === undefined && side.kind === "nfs") {
      // `cp - URL < FILE`, FILE being that file seen locally.
      const input = await localFs.statIfExists("/dev/stdin", true).catch(() => undefined);
      if (input?.kind === "file" && seenBothWays({ ...input, inode: input.ino }, existing)) {
        throw new CopyError(
          `standard input and '${side.display(dest.path)}' are the same file`,
          { url: side.url },
        );
      }
    }
    if (run.options.noClobber) return false;
    if (run.options.update && !isNewer(sourceStat, existing)) return false;
    if (intoSpecial && side.kind !== "local") {
      // NFS has no way to write into one (OPEN takes regular files only).
      throw new CopyError(
        `cannot overwrite special file '${side.display(target)}' (a ${existing.kind})`,
        { url: side.url },
      );
    }
    try {
      await side.checkWritable(target);
    } catch (e) {
      if (!run.options.force || side.isNotFound(e)) throw e;
      // -f: what cannot be opened is removed, then copied as if it never
      // was; the name given (a symlink itself, never the file it points
      // to, as cp unlinks it), and only once the source is open: one that
      // cannot be read leaves the destination as it was.
      removeFirst = dest.path;
      target = dest.path;
      existing = undefined;
      intoSpecial = false;
    }
  }
  let attrs: FinalAttrs = {
    ...finalAttrs(run, sourceStat, existing, source.kind === "stdin"),
    // --preserve=ownership: the source's owner, as this side names it.
    ...(source.kind === "side"
      ? await ownershipFor(run, source.at.side, side, sourceStat, side.display(target))
      : {}),
    // --preserve=timestamps: the times finalAttrs took, and a warning when
    // the source's server gave none to take.
    ...(source.kind === "side"
      ? keptTimes(run, source.at.side, sourceStat, side.display(target))
      : {}),
  };
  // A file system without modes (an ACL-only volume) gets none: said once.
  if (attrs.mode !== undefined && !intoSpecial && !await modeSettable(run, side, target)) {
    attrs = { ...attrs, mode: undefined };
  }
  // The source first: one that cannot be read costs no temporary and leaves
  // an existing destination as it was.
  let reader: Reader | undefined;
  let chunks: AsyncIterable<Uint8Array>;
  if (source.kind === "side") {
    const opening = source.at.side.openReader(source.at.path, source.stat, run.tuning.chunkSize);
    try {
      reader = await run.abortable(opening);
    } catch (e) {
      // Stopped while it opened: what it opened is closed, not left to the collector.
      opening.then((opened) => opened.close()).catch(() => undefined);
      throw e;
    }
    chunks = reader.chunks();
  } else {
    chunks = source.chunks;
  }
  const sparse = run.options.sparse ?? "auto";
  // A fifo or a device has no holes: it gets every byte.
  const holesWanted = !intoSpecial &&
    wantsHoles(sparse, source.kind === "side" ? source.stat : undefined);
  // The source's own holes, when it can say where they are (NFSv4.2 SEEK):
  // nothing in them is read. `always` also wants zero runs in the data, so
  // it reads everything.
  const segments = holesWanted && sparse === "auto" ? reader?.segments?.() : undefined;
  const data: DataSource = {
    chunks,
    reader,
    ...(source.kind === "side" ? { shownAs: source.at.side.display(source.at.path) } : {}),
    holes: holesWanted && !segments ? new HoleFinder(side.holeBlock) : undefined,
    ...(segments ? { segments } : {}),
  };
  try {
    if (removeFirst !== undefined) await side.remove(removeFirst);
    let done: Placed;
    if (intoSpecial) {
      done = await copyInPlace(run, data, side, target, existing!, attrs, true);
    } else if (
      existing &&
      (run.options.inplace || (existing.nlink ?? 1) > 1 ||
        // Its extended attributes (ACLs, user.*; an SELinux label alone is
        // not counted, libc.ts hasXattrs) stay only on the file itself, as
        // cp keeps them by writing into it; a mount root
        // cannot be renamed over (EBUSY). Asked before any data is read: a
        // rename refused at the end could not start again in place from a
        // source read once (standard input), nor from one that changed.
        await side.writtenInPlace?.(target) !== undefined)
    ) {
      done = await copyInPlace(run, data, side, target, existing, attrs);
    } else {
      done = await copyThroughTemporary(run, data, side, target, existing, attrs, isNew);
      if (done === "in place") {
        done = await copyInPlace(run, data, side, target, existing!, attrs);
      }
    }
    if (done === "skipped") return false;
  } finally {
    if (reader) await quietly(reader.close());
  }
  await run.copied(
    source.kind === "side" ? source.at.side : undefined,
    source.kind === "side" ? source.at.path : source.shownAs ?? "-",
    side,
    dest.path,
  );
  return true;
}

/** Whether `source` was modified after `dest` (`-u`); unknown times count as newer. */
export function isNewer(source: Stat, dest: Stat): boolean {
  const s = source.mtime;
  const d = dest.mtime;
  if (!s || !d) return true;
  return s.seconds > d.seconds || (s.seconds === d.seconds && s.nseconds > d.nseconds);
}

/** The data of one file on its way: the chunks, the reader behind them, the holes to leave. */
interface DataSource {
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly reader: Reader | undefined;
  readonly holes: HoleFinder | undefined;
  /** Data and holes as the source itself reports them (SEEK), instead of `chunks`. */
  readonly segments?: AsyncIterable<Segment>;
  /** The source as the user named it (none for standard input). */
  readonly shownAs?: string;
}

/**
 * Fails with {@linkcode SourceChangedError} when the source, read to its
 * end, changed while it was read (Reader.changedWhileRead): checked before
 * the copy is finished, so that what was read is never placed as a copy of
 * the file.
 */
async function checkSourceUnchanged(run: CopyRun, data: DataSource): Promise<void> {
  const reader = data.reader;
  if (!reader?.changedWhileRead || data.shownAs === undefined) return;
  if (await run.abortable(reader.changedWhileRead())) {
    throw new SourceChangedError(data.shownAs);
  }
}

/** Moves the data of `data` into `writer`; resolves to the file's size. */
function pumpData(run: CopyRun, data: DataSource, writer: Writer): Promise<bigint> {
  return data.segments
    ? run.pumpSegments(data.segments, writer)
    : run.pump(data.chunks, writer, data.holes);
}

/** How a copy ended: in place, skipped by `noClobber`, or to be done in place after all. */
type Placed = "placed" | "skipped" | "in place";

/**
 * Writes a temporary beside `target` and renames it onto `target` (`isNew`,
 * or `-n`: gives it that name only if the name is still free). When
 * `existing` is replaced, the temporary is given its owner and group before
 * any data goes in; if the directory refuses the temporary or the owner
 * cannot be given, nothing was changed and the answer is "in place". A
 * destination made directly (CopyRunOptions.writeDirectly) is its own
 * temporary: written, finished, and neither renamed nor named as left.
 *
 * From its create on, the temporary is held in the run's leftovers until it
 * is placed or known gone, so that a stop's last moment can name it.
 */
async function copyThroughTemporary(
  run: CopyRun,
  data: DataSource,
  side: Side,
  target: string,
  existing: Stat | undefined,
  attrs: FinalAttrs,
  isNew = false,
): Promise<Placed> {
  const direct = run.writesDirectly(side, target);
  const temp = direct
    ? target
    : side.join(side.dirname(target), temporaryName(side.basename(target)));
  // The owner to give: the source's (--preserve=ownership), else the replaced file's.
  const owned = attrs.owner !== undefined || attrs.group !== undefined;
  /** The source's owner and group as given (read back once the file is placed). */
  const asked: Ownership = { owner: attrs.owner, group: attrs.group };
  /** The owner given was refused (and warned of): nothing to read back. */
  let ownerRefused = false;
  const creating = side.create(temp, {
    atOnce: existing !== undefined,
    ...(!direct && (run.options.noClobber || isNew) ? { placeAs: target } : {}),
  });
  creating.catch(() => undefined); // a failure is seen below, or does not matter after an abort
  let placed = false;
  /** What the copy of this file failed with, as thrown to it. */
  let failure: unknown;
  /** Why the temporary's REMOVE failed, once it did: it is left (refused) or may be. */
  let removalFailure: unknown;
  /** Its create made it, failed, and could not remove it (the client's open). */
  let createLeft: CreatedFileLeftError | undefined;
  // Held from its create on (an OPEN whose reply never comes may have made
  // it) until it is placed or known gone; said, if still held, at the stop's
  // last moment. Not one made directly: that one is the caller's to name.
  const held: Leftover | undefined = direct
    ? undefined
    : run.leftovers.hold((stop) =>
      createLeft
        ? temporaryLeft(createLeft, side, temp, target)
        : temporaryNotRemoved(failure ?? stop, removalFailure ?? NO_ANSWER, side, temp, target)
    );
  /** A finish the copy's stop gave up waiting for. */
  let stoppedEnding: Promise<void> | undefined;
  /**
   * The temporary's removal, once begun: what its REMOVE failed with when
   * the temporary may be left (undefined: removed, or never made).
   */
  let removal: Promise<unknown> | undefined;
  const removeTemporary = () =>
    removal ??= creating.then(async (writer) => {
      // A writer whose create waits for its data (nfs_create.ts) may have
      // made nothing: then there is nothing to remove.
      const made = await cleanupWork(() => writer.settle?.() ?? Promise.resolve("made"))
        .catch(() => "made");
      // The REMOVE beside the CLOSE, not after it: a server that will not
      // remove an open file (NFS4ERR_FILE_OPEN, waited out as DELAY)
      // gets the CLOSE meanwhile, a stopped finish's last COMMIT or not.
      const [left] = await Promise.all([
        made !== "nothing made"
          ? cleanupWork(() => side.remove(temp)).then(
            () => undefined,
            (e: unknown) => side.isNotFound(e) ? undefined : e,
          )
          : undefined,
        quietly(cleanupWork(() => writer.abort())),
      ]);
      return left;
    }, async (e: unknown) => {
      // Made, then failed, and not removed by its create (on 4.0 after
      // the SETATTR of its mode, Nfs4Client's open): a stop that hid
      // that failure does not hide the temporary left.
      if (e instanceof CreatedFileLeftError) {
        if (e === failure) {
          // The failure names it (renamePath), or the stop hides it: held.
          createLeft = e;
          return e;
        }
        run.reportBesideStop(temporaryLeft(e, side, temp, target), side);
        return undefined;
      }
      // Its OPEN sent again after the first transmission got no answer the
      // server could repeat (a GUARDED4 create on a session lost between
      // them, or an exclusive one whose verifier was lost) met the name
      // taken: the name is random and this copy's, so what is there is
      // that first run's file, and it goes (as info --write-probe's does).
      // No answer at all, or given up on with its outcome unknown: the
      // server may have run it (RFC 7530 §9.1.9, RFC 8881 §2.10.6) and made
      // the temporary; its REMOVE is tried, and said if it fails (a server
      // still silent), rather than the temporary left unmentioned.
      if (madeByFirstRun(e) || outcomeUnknown(run, side, e)) {
        return await cleanupWork(() => side.remove(temp)).then(
          () => undefined,
          (r: unknown) => side.isNotFound(r) ? undefined : r,
        );
      }
      return undefined;
    }).catch(() => undefined).then((left) => {
      // Gone (or never made): nothing to name. Else held, with the reason.
      if (left === undefined) held?.drop();
      else removalFailure ??= left;
      return left;
    });
  try {
    let writer: Writer;
    try {
      writer = await run.abortable(creating);
    } catch (e) {
      // A directory we may not write to, a file we may: write the file itself.
      if (existing && side.isDenied(e)) return "in place";
      throw e;
    }
    const owner = owned ? attrs : existing;
    if (owner) {
      // A new file's owner refused (`--preserve=ownership`): cp warns, and
      // gives no set-id or sticky bits to a file it could not give away;
      // the attributes to finish with. Also when a writer that gives the
      // owner with the data (nfs_create.ts) meets the refusal at its finish.
      const refused = async (e: unknown, finishing: FinalAttrs): Promise<FinalAttrs> => {
        if (!owned || !isOwnerRefused(side, e)) throw e;
        ownerRefused = true;
        run.warn(`${side.display(target)}: cannot preserve ownership: ${reasonOf(e)}`, side);
        // As cp: the group alone, a failure ignored (a group we are in may be given).
        if (owner.owner !== undefined && owner.group !== undefined) {
          await run.abortable(writer.chown(undefined, owner.group)).catch(() => undefined);
        }
        return finishing.mode === undefined
          ? finishing
          : { ...finishing, mode: modeWithoutOwner(finishing.mode, false) };
      };
      try {
        await run.abortable(writer.chown(owner.owner, owner.group, owned ? refused : undefined));
      } catch (e) {
        // Not ours to give away (or a group we are not in): keep the file, write into it.
        if (existing && side.isDenied(e)) return "in place";
        attrs = await refused(e, attrs);
      }
      // The replaced file's owner, given to the temporary: a server may
      // answer that SETATTR NFS4_OK and keep another (a squashing export,
      // RFC 7530 §16.32.4), and the rename would then change the file's
      // owner, which a copy onto an existing file never does (cp writes into
      // it). As for a refusal, the file itself is written instead. What the
      // writer's own SETATTR read back says it (NfsWriter.chown), or one
      // GETATTR.
      if (!owned && existing && side.ownership) {
        const held = await run.abortable(side.ownership(temp, false, writer));
        const asked = { owner: existing.owner, group: existing.group };
        if (await ownershipNotKept(held, asked)) return "in place";
      }
    }
    const open = data.reader;
    if (open) writer.useSource?.((offset, length) => open.readAt(offset, length));
    const size = await pumpData(run, data, writer);
    // A stop that came as the data ended (`cp -v … | head`'s, from a write's
    // failure) starts no finish: one may place the file.
    run.checkAbort();
    try {
      await checkSourceUnchanged(run, data);
    } catch (e) {
      if (!(e instanceof SourceChangedError)) throw e;
      // The temporary goes (below); the file there, if any, stays as it was.
      throw new CopyError(
        `${e.message}; '${side.display(target)}' not ${existing ? "replaced" : "created"}`,
        { url: side.url, cause: e },
      );
    }
    const ending = writer.finish(attrs, size);
    try {
      await run.abortable(ending);
    } catch (e) {
      // Stopped while the file was ending: its finish goes on (see finally).
      if (run.options.signal?.aborted) stoppedEnding = ending;
      throw e;
    }
    // The owner given, read back where the side may have answered it
    // without setting it (NFS: a squashing export, RFC 7530 §16.32.4).
    const readBack = owned && !ownerRefused && side.ownership !== undefined;
    if (direct) {
      // Its own temporary: the caller renames it once it is checked.
      placed = true;
      if (readBack) await ownerReadBack(run, side, target, asked, attrs, writer);
      return "placed";
    }
    if (run.options.noClobber || isNew) {
      placed = await run.abortable(side.renameNoReplace(temp, target, writer, readBack));
      // Placed, or left alone by -n: the temporary's name is gone either way.
      held?.drop();
      if (!placed && !run.options.noClobber) {
        throw new CopyError(
          `cannot create regular file '${
            side.display(target)
          }': File exists (NFS4ERR_EXIST): made by another while this copy ran`,
          { url: side.url },
        );
      }
      if (placed && readBack) await ownerReadBack(run, side, target, asked, attrs, writer);
      return placed ? "placed" : "skipped";
    }
    await run.abortable(side.rename(temp, target));
    placed = true;
    held?.drop();
    if (readBack) await ownerReadBack(run, side, target, asked, attrs, writer);
    return "placed";
  } catch (e) {
    failure = e;
    let named = resentCreateFailure(renamePath(e, side, temp, target), side, target);
    // The old file and its replacement need room at once; --inplace would not.
    if (existing && !direct && isOutOfRoom(named)) named = withRoomHint(named, side, target);
    if (!run.options.signal?.aborted && !placed) {
      // The failure says what is left: a temporary whose REMOVE failed too
      // (the server gone) is named, as info and simulate-reboot name theirs.
      // (A create that failed after making its file names it already; one
      // made directly is the caller's to name.)
      const left = await removeTemporary();
      // Said by the failure from here, unless a stop came meanwhile (which
      // would leave the failure unsaid: then the stop's leftovers say it).
      if (!run.options.signal?.aborted) held?.drop();
      if (left !== undefined && !direct && !(e instanceof CreatedFileLeftError)) {
        throw temporaryNotRemoved(named, left, side, temp, target);
      }
    }
    throw named;
  } finally {
    if (!placed) {
      await Promise.all([
        // Also when an abort came while the temporary was being created: it
        // is what must not stay behind.
        removeTemporary(),
        // A small file given its final name in its own COMPOUND
        // (nfs_create.ts) whose COMMIT then said its data may be lost (a
        // changed verifier, RFC 8881 §18.3.3, or a failure) and whose name
        // could not be taken back says the destination is incomplete: a
        // stop during its finish must not hide that. Waited for beside the
        // cleanup, within the same bound.
        stoppedEnding && failureWithin(stoppedEnding).then((failure) => {
          if (failure instanceof IncompleteCopyError) run.reportBesideStop(failure, side);
        }),
      ].map((step) => Promise.resolve(step).catch(() => undefined)));
    }
  }
}

/** What {@linkcode withRoomHint} adds. */
const ROOM_HINT =
  "(the copy is written beside the old file until complete; --inplace writes into it)";

/** Whether a failure is a lack of room: ENOSPC, EDQUOT, NFS4ERR_NOSPC, NFS4ERR_DQUOT. */
function isOutOfRoom(error: unknown): boolean {
  if (error instanceof NfsError) {
    return error.status === S.NFS4ERR_NOSPC || error.status === S.NFS4ERR_DQUOT;
  }
  const code = (error as { code?: unknown })?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * A lack of room while a temporary replaced `target`, with the hint that the
 * temporary needs room beside the old file and `--inplace` does not: the
 * old file is kept, and a disk too full for both may still take the copy
 * written into it.
 */
function withRoomHint(error: unknown, side: Side, target: string): CopyError {
  return new CopyError(`${side.display(target)}: ${reasonOf(error)} ${ROOM_HINT}`, {
    url: side.url,
    cause: error,
  });
}

/**
 * Compares the owner and group the file `writer` wrote holds, now at
 * `target`, with those given (`asked`): from the writer's or the placing's
 * own replies where they carried them, else one GETATTR by its handle. A
 * server that kept others (it squashed them, and answered the SETATTR
 * NFS4_OK) gets the refusal's warning, and, as for a refusal, the file no
 * set-id or sticky bits: its mode is set again without them when `attrs`
 * gave it some (cp gives no set-id bits to a file it could not give away).
 */
async function ownerReadBack(
  run: CopyRun,
  side: Side,
  target: string,
  asked: Ownership,
  attrs: FinalAttrs,
  writer: Writer,
): Promise<void> {
  // Nothing new goes to a server once the copy is stopped.
  run.checkAbort();
  const shownAs = side.display(target);
  const kept = await run.abortable(
    ownershipKept(run, side, target, asked, { shownAs, follow: false, writer }),
  );
  if (kept || attrs.mode === undefined) return;
  const mode = modeWithoutOwner(attrs.mode, false);
  if (mode !== attrs.mode) await run.abortable(side.setAttrs(target, { mode }, false));
}

/**
 * Overwrites `target` in place: opened without create and emptied (as cp's
 * O_TRUNC), written, its size set, committed; then, with `-p`, its mode and
 * times. A failure or stop once the emptying may have happened (NFS: its
 * SETATTR sent) says the destination is incomplete (there is no old copy
 * to go back to); one before leaves the file as it was, closed. `special`:
 * `target` is a local fifo or device, written into as a stream; its mode,
 * owner and times are never changed (`cp -p` would try to give /dev/null
 * the source's).
 */
async function copyInPlace(
  run: CopyRun,
  data: DataSource,
  side: Side,
  target: string,
  existing: Stat,
  attrs: FinalAttrs,
  special = false,
): Promise<Placed> {
  // The mode stays unless -p asks for the source's; times only with -p; the
  // source's owner with --preserve=ownership (first: it clears set-id bits).
  const owned = attrs.owner !== undefined || attrs.group !== undefined;
  const mode = attrs.mode !== undefined && (owned || attrs.mode !== existing.mode)
    ? attrs.mode
    : undefined;
  const final: FinalAttrs = { ...attrs, mode };
  const attrsWanted = !special &&
    (owned || mode !== undefined || final.mtime !== undefined || final.atime !== undefined);
  const opening = side.openExisting(target, special);
  let writer: Writer;
  try {
    writer = await run.abortable(opening);
  } catch (e) {
    // What it opened is closed, not left open until the client ends.
    opening.then((opened) => opened.abort()).catch(() => undefined);
    throw e;
  }
  // A stop that came as it opened: the file stays as it was, unless the
  // open emptied it itself (O_TRUNC; then the try below says so).
  if (writer.empty && run.options.signal?.aborted) {
    await quietly(writer.abort());
    run.checkAbort();
  }
  /** The emptying (NFS: its SETATTR of size 0), once sent: waited for before the CLOSE. */
  let emptying: Promise<void> | undefined;
  let finishing: Promise<void> | undefined;
  // From here the file may have lost its old data (a state change the
  // server runs even when the copy stops waiting for its answer): any
  // failure or stop says the destination is incomplete, and until it does
  // (or the file is whole) the run holds it, for a stop's last moment to say.
  const held = run.leftovers.hold((stop) =>
    new IncompleteCopyError(side.display(target), { url: side.url, cause: stop })
  );
  try {
    if (writer.empty) {
      emptying = writer.empty();
      await run.abortable(emptying);
    }
    const open = data.reader;
    if (open) writer.useSource?.((offset, length) => open.readAt(offset, length));
    const size = await pumpData(run, data, writer);
    // A stop that came as the data ended starts no finish.
    run.checkAbort();
    // Its old data is gone already: said as incomplete, as any failure here.
    await checkSourceUnchanged(run, data);
    finishing = writer.finish({ mode: undefined }, size);
    await run.abortable(finishing);
    held.drop();
  } catch (e) {
    const signal = run.options.signal;
    if (signal?.aborted && finishing && await succeededWithin(finishing)) {
      held.drop();
      // Stopped while the finish was on its way (its CLOSE, a state change,
      // is answered in the release window), and it was done: the file is
      // whole. Only the stop is said, and that -p's attributes were not given.
      if (attrsWanted) {
        run.warn(
          `${
            side.display(target)
          }: its data copied whole, but stopped before its attributes were set`,
          side,
        );
      }
      throw signal.reason ?? e;
    }
    // The SETATTR keeps its open stateid until it is answered: the CLOSE after it.
    if (emptying) await quietly(emptying);
    await quietly(writer.abort());
    const error = new IncompleteCopyError(side.display(target), { url: side.url, cause: e });
    // Said now, by the failure or beside the stop.
    held.drop();
    if (signal?.aborted) {
      // Interrupted: say so now, the abort itself ends the copy.
      run.reportBesideStop(error, side);
      throw signal.reason ?? e;
    }
    throw error;
  }
  if (special) return "placed";
  await applyAttrs(run, side, target, final, { shownAs: side.display(target) });
  return "placed";
}

/** How long cleanup after a failure may wait for a server (which may be gone). */
const CLEANUP_TIMEOUT_MS = 5000;

/**
 * Waits for `promise` at most `CLEANUP_TIMEOUT_MS`, ignoring its failure:
 * cleanup after a failure must not hold the command up when a server is gone.
 */
async function quietly(promise: Promise<unknown>): Promise<void> {
  await failureWithin(promise);
}

/** Whether `promise` succeeded within `CLEANUP_TIMEOUT_MS` (not: it failed, or is still going). */
async function succeededWithin(promise: Promise<unknown>): Promise<boolean> {
  let succeeded = false;
  await failureWithin(promise.then(() => void (succeeded = true)));
  return succeeded;
}

/**
 * What `promise` failed with, waiting at most `CLEANUP_TIMEOUT_MS`;
 * undefined when it succeeded or is still going.
 */
async function failureWithin(promise: Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), CLEANUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise.then(() => undefined, (e: unknown) => e), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An exclusive create or a LINK that met its name taken when sent again
 * after its first transmission got no answer that the server could repeat
 * (it restarted, the session was lost; on 4.0 a reconnect): the first may
 * have made the file or taken the name, and nothing left can say whether
 * it did (an exclusive create's verifier goes with its times, RFC 8881
 * §18.16.3). Said as such, not as a name someone else took
 * (NfsError.answeredResend).
 */
function resentCreateFailure(error: unknown, side: Side, target: string): unknown {
  if (
    !(error instanceof NfsError) || error.status !== S.NFS4ERR_EXIST || !error.answeredResend ||
    (error.op !== "OPEN" && error.op !== "LINK")
  ) {
    return error;
  }
  const found = error.op === "OPEN"
    ? "its temporary made already, maybe by that first one"
    : "the name taken, maybe by that first one";
  return new CopyError(
    `cannot create regular file '${side.display(target)}': File exists (NFS4ERR_EXIST): ` +
      `the first ${error.op} got no answer, and sent again it found ${found}`,
    { url: side.url, cause: error },
  );
}

/**
 * A create that failed without an answer saying whether it ran: no reply
 * (ServerNotRespondingError), or given up at its deadline after a
 * transmission whose outcome is unknown (`mayHaveRun`). Once the copy is
 * stopped, any failure on a server that is not the server's answer: a
 * request in flight at the stop is given the release window to be answered
 * and then abandoned (lib/state/manager.ts interrupt), the server may have
 * run it, and nothing tells that failure from one never sent.
 */
function outcomeUnknown(run: CopyRun, side: Side, error: unknown): boolean {
  if (
    error instanceof ServerNotRespondingError ||
    ((error instanceof RecoveryTimeoutError || error instanceof SendWaitTimeoutError) &&
      error.mayHaveRun)
  ) {
    return true;
  }
  return run.options.signal?.aborted === true && side.kind === "nfs" &&
    !(error instanceof NfsError);
}

/**
 * Whether a create failed with NFS4ERR_EXIST answering its OPEN's resend
 * (NfsError.answeredResend): its first transmission may have made the
 * temporary (see {@linkcode resentCreateFailure}).
 */
function madeByFirstRun(error: unknown): boolean {
  return error instanceof NfsError && error.status === S.NFS4ERR_EXIST &&
    error.answeredResend && error.op === "OPEN";
}

/**
 * Why a temporary's removal was not seen through, when the stop's last
 * moment came first (its REMOVE, or the create before it, not answered).
 */
const NO_ANSWER = "no answer before the exit";

/**
 * A failure about the temporary is reported as being about the destination;
 * a temporary left on the server is named. Besides the errors that carry
 * the path (NfsError, LocalFileError), any whose message starts with the
 * temporary's path, as a path of the server or as its URL: the NFS
 * writer's and client's own findings (`PATH: server accepted no data at
 * offset N`, a COMMIT verifier that kept changing). Those that are plain
 * Errors carry no NFS status: the server answered NFS4_OK with something
 * that cannot be, which the kernel's client reports as EIO
 * (fs/nfs/write.c nfs_writeback_result, a WRITE of zero bytes), and so they
 * read as other such failures do: `DEST: … (I/O error)`.
 */
function renamePath(error: unknown, side: Side, temp: string, target: string): unknown {
  if (error instanceof CreatedFileLeftError) return temporaryLeft(error, side, temp, target);
  if (error instanceof NfsError && error.path !== undefined) {
    if (error.path === temp) return error.withPath(target);
    if (error.path === side.display(temp)) return error.withPath(side.display(target));
  }
  if (error instanceof LocalFileError) {
    return error.path === temp ? new LocalFileError(target, error.cause) : error;
  }
  if (error instanceof Error) {
    // As the server's path, or as its URL; made directly, the URL is the
    // destination's already (and the caller's to rename).
    const names = temp === target ? [temp] : [temp, side.display(temp)];
    for (const named of names) {
      if (!error.message.startsWith(`${named}: `)) continue;
      let rest = error.message.slice(named.length + 2);
      if (
        side.kind === "nfs" && error.constructor === Error && !/\([A-Za-z/0-9_ ]+\)$/.test(rest)
      ) {
        rest += " (I/O error)";
      }
      return new CopyError(`${side.display(target)}: ${rest}`, { url: side.url, cause: error });
    }
  }
  return error;
}

/**
 * The copy to `target` failed, and its temporary `temp` is left on the
 * server (or may be: its REMOVE got no answer).
 */
function temporaryLeft(
  error: CreatedFileLeftError,
  side: Side,
  temp: string,
  target: string,
): CopyError {
  if (temp === target) {
    // Made directly (CopyRunOptions.writeDirectly): the caller names what is left.
    return new CopyError(`${side.display(target)}: ${error.reason}`, {
      url: side.url,
      cause: error,
    });
  }
  const left = `its temporary ${side.display(temp)} ${
    error.surely ? "is" : "may be"
  } left on the server`;
  const notRemoved = error.removal === error.reason
    ? "not removed, for the same reason"
    : `not removed: ${error.removal}`;
  return new CopyError(`${side.display(target)}: ${error.reason}; ${left} (${notRemoved})`, {
    url: side.url,
    cause: error,
  });
}

/**
 * The copy to `target` failed with `failure`, and the REMOVE of its
 * temporary `temp` failed with `removal`: the temporary is left on the
 * server (refused) or may be (no answer).
 */
function temporaryNotRemoved(
  failure: unknown,
  removal: unknown,
  side: Side,
  temp: string,
  target: string,
): CopyError {
  const reason = reasonOf(failure);
  const why = reasonOf(removal);
  const surely = removal instanceof NfsError && !removal.answeredResend ||
    removal instanceof LocalFileError;
  const left = `its temporary ${side.display(temp)} ${surely ? "is" : "may be"} left${
    side.kind === "nfs" ? " on the server" : ""
  }`;
  const notRemoved = why === reason ? "not removed, for the same reason" : `not removed: ${why}`;
  const message = reason.startsWith(`${side.display(target)}: `)
    ? reason
    : `${side.display(target)}: ${reason}`;
  return new CopyError(`${message}; ${left} (${notRemoved})`, { url: side.url, cause: failure });
}

/**
 * Recreates a symlink at `dest` (through a temporary name, so it appears at
 * once); `prepare` gives it its attributes first.
 */
export function copySymlink(
  run: CopyRun,
  target: string,
  dest: Endpoint,
  prepare?: (temp: string) => Promise<void>,
): Promise<boolean> {
  return placeNode(run, dest, (temp) => dest.side.symlink(temp, target), prepare);
}

/**
 * Puts a new symlink, special file or hard link at `dest`: `make` creates
 * it under a temporary name, `prepare` sets its attributes, a rename puts it
 * in place (with `noClobber` only if nothing is there). Returns false when
 * `noClobber` left an existing one alone. A `dest` made directly
 * (CopyRunOptions.writeDirectly) is made there: no temporary, no rename.
 * The temporary is held in the run's leftovers from `make` on (a CREATE or
 * SYMLINK whose reply never comes may have made it) until it is placed or
 * known gone; one whose removal fails is named in the failure.
 */
export async function placeNode(
  run: CopyRun,
  dest: Endpoint,
  make: (temp: string) => Promise<void>,
  prepare?: (temp: string) => Promise<void>,
): Promise<boolean> {
  const { side } = dest;
  const direct = run.writesDirectly(side, dest.path);
  const existing = direct ? undefined : await side.stat(dest.path, false);
  if (existing) {
    if (existing.kind === "directory") {
      throw new CopyError(
        `cannot overwrite directory '${side.display(dest.path)}' with non-directory`,
        { url: side.url },
      );
    }
    if (run.options.noClobber) return false;
  }
  const temp = direct
    ? dest.path
    : side.join(side.dirname(dest.path), temporaryName(side.basename(dest.path)));
  let failure: unknown;
  let removalFailure: unknown;
  const held: Leftover | undefined = direct
    ? undefined
    : run.leftovers.hold((stop) =>
      temporaryNotRemoved(failure ?? stop, removalFailure ?? NO_ANSWER, side, temp, dest.path)
    );
  /** Removes the temporary after `e`, and throws what says so. */
  const giveUp = async (e: unknown): Promise<never> => {
    failure = e;
    const named = renamePath(e, side, temp, dest.path);
    const left = await cleanupWork(() => side.remove(temp)).then(
      () => undefined,
      (r: unknown) => side.isNotFound(r) ? undefined : r,
    );
    if (left === undefined) {
      held?.drop();
      throw named;
    }
    removalFailure = left;
    // A stop hides the failure: the stop's leftovers say it instead. One
    // made directly is the caller's to name.
    if (run.options.signal?.aborted || direct) throw named;
    held?.drop();
    throw temporaryNotRemoved(named, left, side, temp, dest.path);
  };
  try {
    await make(temp);
  } catch (e) {
    // Answered (or local): nothing was made. Not answered: it may have been.
    if (!outcomeUnknown(run, side, e)) {
      held?.drop();
      throw renamePath(e, side, temp, dest.path);
    }
    return await giveUp(e);
  }
  try {
    if (prepare) await prepare(temp);
    if (direct) return true;
    const placed = run.options.noClobber
      ? await side.renameNoReplace(temp, dest.path)
      : (await side.rename(temp, dest.path), true);
    // Placed, or left alone by -n: the temporary's name is gone either way.
    held?.drop();
    return placed;
  } catch (e) {
    return await giveUp(e);
  }
}

/** One step of a tree copy, in the order they are done (directories first). */
