/**
 * What each file system of a server says of itself, kept per fsid: the
 * attributes it supports and the longest name it takes.
 *
 * Both belong to a file system, not to the server: supported_attrs
 * "applies to all objects with a matching fsid" (RFC 7530 §5.8.1.1, RFC
 * 8881 §5.8.1.1), and maxname is a file system's limit (RFC 7530 §5.8.2,
 * RFC 8881 §5.8.2). An
 * NFSv4 server presents several under one pseudo-fs (RFC 7530 §7, RFC 8881
 * §7): Ganesha's pseudo-fs root says maxname 255 while its VFS export says
 * 1024, and an export may support more attributes than the pseudo-fs, or
 * fewer. So what the root says is only the root's file system's: a name
 * is held to the limit of the file system of the directory it is looked
 * up (or made) in, and a GETATTR asks for what the object's file system
 * supports.
 *
 * They are learned without a round trip of their own: the client's path
 * walk asks every LOOKUP's GETATTR for FSID, SUPPORTED_ATTRS and MAXNAME
 * besides what it wants (a few bytes per name; the bitmap's first word
 * holds all three), and {@linkcode FsTraitsCache.learn} keeps the first
 * answer for each fsid. The pseudo-fs root's come from the GETATTR the
 * client sent there already before any walk.
 * @module
 */

import { Attr, type FileAttributes, type Fsid } from "../nfs4/attrs.ts";
import { byteLength } from "../nfs4/names.ts";

/** The longest file name, in bytes, when a file system does not say (POSIX NAME_MAX on Linux). */
export const NAME_MAX = 255;

/** What a GETATTR asks for besides what is wanted, to learn an object's file system. */
export const FS_TRAIT_ATTRS: readonly number[] = [Attr.SUPPORTED_ATTRS, Attr.FSID, Attr.MAXNAME];

/** One file system's supported attributes and longest name. */
export interface FsTraits {
  /**
   * supported_attrs; null: it was not said (it must be, RFC 8881 §5.6), and
   * every attribute wanted is asked for.
   */
  readonly supported: ReadonlySet<number> | null;
  /** maxname in bytes, when said. */
  readonly maxName: number | undefined;
}

/** The traits in `attrs`, a GETATTR's answer to {@linkcode FS_TRAIT_ATTRS} among others. */
export function traitsFrom(attrs: FileAttributes): FsTraits {
  return { supported: attrs.supportedAttrs ?? null, maxName: attrs.maxname || undefined };
}

/**
 * `ids` as a GETATTR of an object on a file system with `traits` asks for
 * them: those it supports (TYPE always). Without supported_attrs, all.
 */
export function supportedOf(ids: readonly number[], traits: FsTraits): number[] {
  const supported = traits.supported;
  return supported === null ? [...ids] : ids.filter((id) => supported.has(id) || id === Attr.TYPE);
}

/** The longest name a file system with `traits` takes, in bytes. */
export function maxNameOf(traits: FsTraits): number {
  return traits.maxName ?? NAME_MAX;
}

/** Whether `name` is longer than a directory on a file system with `traits` takes. */
export function nameTooLong(name: string, traits: FsTraits): boolean {
  return byteLength(name) > maxNameOf(traits);
}

/** Each file system's traits, by fsid, as one client learned them. */
export class FsTraitsCache {
  readonly #byFsid = new Map<string, FsTraits>();

  /** The traits of the file system `attrs` (with an fsid) is on, when known. */
  of(attrs: FileAttributes): FsTraits | undefined {
    return attrs.fsid === undefined ? undefined : this.#byFsid.get(fsidKey(attrs.fsid));
  }

  /**
   * Keeps what `attrs` says of its file system, when it has an fsid and
   * the GETATTR asked for {@linkcode FS_TRAIT_ATTRS}; the first answer for a
   * file system stands (a file system does not change what it supports).
   * Returns the file system's traits, when known.
   */
  learn(attrs: FileAttributes): FsTraits | undefined {
    if (attrs.fsid === undefined) return undefined;
    const key = fsidKey(attrs.fsid);
    let traits = this.#byFsid.get(key);
    if (!traits) this.#byFsid.set(key, traits = traitsFrom(attrs));
    return traits;
  }
}

function fsidKey(fsid: Fsid): string {
  return `${fsid.major}:${fsid.minor}`;
}
