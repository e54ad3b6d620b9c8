/**
 * What a SETATTR set: its attrsset (RFC 7530 §16.32.4, RFC 8881 §18.30.4:
 * "the server will return the attrsset bitmask to represent what (if any)
 * attributes were successfully set"), held against what it asked for.
 * Here, below lib/state, so that every SETATTR is held to it the same way:
 * a path's or an open's alone (lib/client/client.ts) and one inside a
 * small file's single COMPOUND (lib/state/small_upload.ts, small_create.ts).
 * @module
 */

import { attrIds, attrName, type FileAttributes } from "./attrs.ts";

/**
 * SETATTR succeeded but did not set every attribute asked for: its
 * attrsset lacks some. The message is `PATH: the server did not set mode
 * (SETATTR attrsset)`.
 */
export class AttributesNotSetError extends Error {
  /** The path the attributes were for. */
  readonly path: string;
  /** The attributes asked for and not set, by id (lib/nfs4/attrs.ts `Attr`). */
  readonly notSet: readonly number[];

  /** The SETATTR of `path` left the attributes `notSet` (their ids) unset. */
  constructor(path: string, notSet: readonly number[]) {
    const names = notSet.map((id) => attrName(id).toLowerCase());
    super(`${path}: the server did not set ${names.join(", ")} (SETATTR attrsset)`);
    this.name = "AttributesNotSetError";
    this.path = path;
    this.notSet = notSet;
  }
}

/**
 * The {@linkcode AttributesNotSetError} naming `path` for the attributes of
 * `asked` missing from `set` (the attrsset), or undefined when all were
 * set. Bits are compared as requested (TIME_MODIFY_SET for a time set to
 * the server's, too).
 */
export function attributesNotSet(
  path: string,
  asked: FileAttributes,
  set: ReadonlySet<number>,
): AttributesNotSetError | undefined {
  const notSet = attrIds(asked).filter((id) => !set.has(id));
  return notSet.length > 0 ? new AttributesNotSetError(path, notSet) : undefined;
}

/** Throws what {@linkcode attributesNotSet} finds. */
export function checkAttributesSet(
  path: string,
  asked: FileAttributes,
  set: ReadonlySet<number>,
): void {
  const error = attributesNotSet(path, asked, set);
  if (error) throw error;
}
