/**
 * Keeping what `--preserve` asks for, beyond a file's data: owners
 * translated from one side's names to the other's and set before the mode
 * (a change of owner clears set-id bits), then modes and times. What cannot
 * be kept (an owner the server refuses, times a server cannot give a
 * symlink, times the source's server does not give) is a warning, as
 * coreutils says "failed to preserve ownership" and goes on; it does not
 * make the copy fail.
 *
 * An owner given on a server is read back ({@linkcode ownershipKept}): a
 * server that squashes owners (Ganesha's `all_squash`, `root_squash` for
 * root's files) answers the SETATTR NFS4_OK with `owner` and `owner_group`
 * in its attrsset (RFC 7530 §16.32.4, RFC 8881 §18.30.4), and holds its
 * anonymous ids instead. That is the same warning as a refusal, naming what
 * the server set, as `nfs4 chown` names it.
 * @module
 */

import type { NfsTime } from "../../nfs4/types.ts";
import type { CopyRun } from "./run.ts";
import type { Ownership, Side, Stat, Writer } from "./side.ts";
import { ownerKept, type OwnerKind } from "./owners.ts";

/** Attributes to give a directory, symlink or special file. */
export interface NodeAttrs extends Ownership {
  readonly mode?: number | undefined;
  readonly mtime?: NfsTime | undefined;
  readonly atime?: NfsTime | undefined;
}

/**
 * The owner and group of `source` (named as `from` names them) as `to`
 * names them, when ownership is kept. A name `to` has no id for is a
 * warning, and that one is left as created.
 */
export async function ownershipFor(
  run: CopyRun,
  from: Side,
  to: Side,
  source: Stat,
  shownAs: string,
): Promise<Ownership> {
  if (!run.keep.ownership) return {};
  const map = async (text: string | undefined, kind: "user" | "group") => {
    if (text === undefined) return undefined;
    const name = await to.ownerName(text, kind, from.kind);
    if (name === undefined) {
      run.warn(`${shownAs}: cannot preserve ownership: no ${kind} '${text}' here`, to);
    }
    return name;
  };
  const owner = await map(source.owner, "user");
  const group = await map(source.group, "group");
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(group !== undefined ? { group } : {}),
  };
}

/**
 * Whether `side` can give `path` a mode: not when its file system has none
 * (Side.supportsMode: NFS `mode` not in supported_attrs, an ACL-only
 * volume), where every create and SETATTR of a mode would fail the file
 * while coreutils `cp` onto a mount of it succeeds (the Linux client sends
 * only the attributes the server supports). Said once per copy, as a
 * warning: `nfs4: warning: DIR: modes not set: the server does not support
 * the mode attribute (not in its supported_attrs)`. A server that supports
 * the mode and does not set it still fails the file (SETATTR attrsset).
 */
export async function modeSettable(run: CopyRun, side: Side, path: string): Promise<boolean> {
  const dir = side.dirname(path);
  if (!side.supportsMode || await side.supportsMode(dir)) return true;
  run.warnOnce(
    "mode",
    `${side.display(dir)}: modes not set: the server does not support the mode attribute ` +
      "(not in its supported_attrs)",
    side,
  );
  return false;
}

/** The reason in a failure's message, without the path it starts with. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const path = (error as { path?: unknown })?.path;
  if (typeof path === "string" && message.startsWith(`${path}: `)) {
    return message.slice(path.length + 2);
  }
  return message;
}

/**
 * Whether a failure to give an owner is a refusal (a warning): not
 * permitted, an owner the server does not know (NFS4ERR_BADOWNER), or an id
 * the system cannot represent (EINVAL, which cp takes as EPERM).
 */
export function isOwnerRefused(side: Side, error: unknown): boolean {
  return side.isDenied(error) || (error as { code?: unknown })?.code === "EINVAL";
}

/**
 * What of `asked` the server does not hold, judged by `held` (its owner
 * and group read back after the SETATTR) the way `nfs4 chown` judges them
 * ({@linkcode ownerKept}: numbers and `name@domain` as this host maps them,
 * RFC 7530 §5.9), as `[held, asked]` pairs; undefined when it holds both
 * (or did not say: a server without the attribute, nothing to compare).
 */
export async function ownershipNotKept(
  held: Ownership,
  asked: Ownership,
): Promise<{ owner?: [string, string]; group?: [string, string] } | undefined> {
  const check = async (got: string | undefined, want: string | undefined, kind: OwnerKind) =>
    got === undefined || want === undefined || await ownerKept(got, want, kind)
      ? undefined
      : [got, want] as [string, string];
  const [owner, group] = await Promise.all([
    check(held.owner, asked.owner, "user"),
    check(held.group, asked.group, "group"),
  ]);
  if (!owner && !group) return undefined;
  return { ...(owner ? { owner } : {}), ...(group ? { group } : {}) };
}

/**
 * Reads back the owner and group of `path` on `side` after they were
 * given (`asked`, as `side` names them), where a side can answer a change
 * of owner without making it (NFS: Side.ownership). One that does not hold
 * what was asked is a warning, the refusal's:
 * `DEST: cannot preserve ownership: the server set owner to '4242', not
 * '1234' and group to '4242', not '1234'`. False then (the caller gives no
 * set-id bits); true when kept, or when the side cannot say.
 */
export async function ownershipKept(
  run: CopyRun,
  side: Side,
  path: string,
  asked: Ownership,
  how: { readonly shownAs: string; readonly follow: boolean; readonly writer?: Writer },
): Promise<boolean> {
  if (!side.ownership || (asked.owner === undefined && asked.group === undefined)) return true;
  let held: Ownership;
  try {
    held = await side.ownership(path, how.follow, how.writer);
  } catch (e) {
    // The file is whole and placed; only the check could not be made. As
    // an owner that could not be given: one warning, no set-id bits, not a
    // failure of the file (a stop still ends the copy).
    if (run.options.signal?.aborted) throw e;
    run.warn(`${how.shownAs}: ownership not verified: ${reasonOf(e)}`, side);
    return false;
  }
  return await ownershipHeld(run, side, held, asked, how.shownAs);
}

/** {@linkcode ownershipKept} of what `held` says the server holds. */
async function ownershipHeld(
  run: CopyRun,
  side: Side,
  held: Ownership,
  asked: Ownership,
  shownAs: string,
): Promise<boolean> {
  const wrong = await ownershipNotKept(held, asked);
  if (!wrong) return true;
  // Owner strings come from the server: control characters are not printed.
  const part = (what: string, [got, want]: [string, string]) =>
    `${what} to '${printable(got)}', not '${printable(want)}'`;
  const parts = [
    ...(wrong.owner ? [part("owner", wrong.owner)] : []),
    ...(wrong.group ? [part("group", wrong.group)] : []),
  ];
  run.warn(`${shownAs}: cannot preserve ownership: the server set ${parts.join(" and ")}`, side);
  return false;
}

/** An owner string with its control characters (C0, DEL, C1) shown as `?`. */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/** What {@linkcode applyAttrs} sets attributes on. */
export interface AttrTarget {
  /** The name to give in warnings (the final name, not a temporary). */
  readonly shownAs: string;
  /** A symlink: changed itself, no mode; times it cannot take are a warning. */
  readonly symlink?: boolean;
  /** A directory: it keeps its sticky bit when its owner cannot be given. */
  readonly directory?: boolean;
}

/**
 * The mode to give when the owner could not be: no set-user-ID or
 * set-group-ID bit, and on a file no sticky bit either (what coreutils 9
 * `cp -a` does; a directory keeps its sticky bit).
 */
export function modeWithoutOwner(mode: number, directory: boolean): number {
  return mode & ~(directory ? 0o6000 : 0o7000);
}

/**
 * Sets what `attrs` holds on `path`: the owner first (a refusal is a
 * warning, and set-id bits are then not given, as cp does), then mode and
 * times in one call. An owner the side may answer without setting (NFS) is
 * read back before the mode ({@linkcode ownershipKept}): one the server
 * did not keep is the refusal's warning, and the mode then has no set-id
 * bits either. A symlink's is read with its times (below), in one GETATTR.
 */
export async function applyAttrs(
  run: CopyRun,
  side: Side,
  path: string,
  attrs: NodeAttrs,
  target: AttrTarget,
): Promise<void> {
  const { shownAs } = target;
  const follow = target.symlink !== true;
  let mode = target.symlink ? undefined : attrs.mode;
  if (mode !== undefined && !await modeSettable(run, side, path)) mode = undefined;
  /** The owner and group given, still to be read back (when the side can say). */
  let given: Ownership | undefined;
  if (attrs.owner !== undefined || attrs.group !== undefined) {
    try {
      await side.setOwner(path, attrs.owner, attrs.group, follow);
      if (side.ownership) given = { owner: attrs.owner, group: attrs.group };
    } catch (e) {
      if (!isOwnerRefused(side, e)) throw e;
      run.warn(`${shownAs}: cannot preserve ownership: ${reasonOf(e)}`, side);
      if (mode !== undefined) mode = modeWithoutOwner(mode, target.directory === true);
      // As cp: the group alone, a failure ignored (a group we are in may be given).
      if (attrs.owner !== undefined && attrs.group !== undefined) {
        await side.setOwner(path, undefined, attrs.group, follow).catch(() => undefined);
      }
    }
  }
  const times = attrs.mtime && attrs.atime ? { mtime: attrs.mtime, atime: attrs.atime } : undefined;
  if (given && !(target.symlink && times && side.kind === "nfs")) {
    const kept = await ownershipKept(run, side, path, given, { shownAs, follow });
    if (!kept && mode !== undefined) mode = modeWithoutOwner(mode, target.directory === true);
    given = undefined;
  }
  if (!target.symlink) {
    if (mode !== undefined || times) await side.setAttrs(path, { mode, ...times }, follow);
    return;
  }
  if (!times) return;
  try {
    await side.setAttrs(path, times, follow);
  } catch (e) {
    run.warn(`${shownAs}: cannot preserve the times of a symlink: ${reasonOf(e)}`, side);
    if (given) await ownershipKept(run, side, path, given, { shownAs, follow });
    return;
  }
  // Checked: Ganesha's VFS FSAL answers NFS4_OK to times on a symlink and
  // sets none ("Setting time on symlinks is illegal", vfs_setattr2()).
  // Locally utimensat(2) says when it fails.
  if (side.kind !== "nfs") return;
  const now = await side.stat(path, false);
  if (!now?.mtime || !sameTime(now.mtime, times.mtime)) {
    run.warn(
      `${shownAs}: cannot preserve the times of a symlink: the server accepted them but did not set them`,
      side,
    );
  }
  // The owner given, from the same GETATTR.
  if (given && now) await ownershipHeld(run, side, now, given, shownAs);
}

function sameTime(a: NfsTime, b: NfsTime): boolean {
  return a.seconds === b.seconds && a.nseconds === b.nseconds;
}

/**
 * The times to give `shownAs`, the copy of `source` (on `from`), when they
 * are kept. A source whose server did not give its access or modification
 * time (Ganesha's MEM FSAL lists time_access and time_modify in
 * supported_attrs, RFC 7530 §5.8.2.37/.44, and leaves them out of every
 * GETATTR) cannot lend them: a warning per file, naming what was missing, as
 * for an owner that cannot be given (`nfs4 touch -r` of such a file fails
 * alike), and the copy keeps the time it was made. Neither time is given
 * then: one alone would pair a copied time with the time of the copy.
 */
export function keptTimes(
  run: CopyRun,
  from: Side,
  source: Stat,
  shownAs: string,
): { mtime?: NfsTime; atime?: NfsTime } {
  if (!run.keep.timestamps) return {};
  if (source.mtime && source.atime) return { mtime: source.mtime, atime: source.atime };
  const missing = !source.mtime && !source.atime
    ? "access and modification times"
    : source.mtime
    ? "access time"
    : "modification time";
  run.warn(
    `${shownAs}: cannot preserve times: the server did not give the ${missing} of ${
      from.display(source.path)
    }`,
    from,
  );
  return {};
}
