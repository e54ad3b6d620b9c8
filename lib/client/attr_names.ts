/**
 * NFSv4 attribute names as the RFCs spell them, in lower case (`time_modify`,
 * `numlinks`): the names {@linkcode AttributeReport} uses, for commands that
 * show a value holding attribute ids (`supported_attrs`,
 * `suppattr_exclcreat`) or order attributes by id.
 *
 * @example
 * ```ts
 * attributeName(53);             // "time_modify"
 * attributeId("space_avail");    // 42
 * attributeName(999);            // "attr_999"
 * ```
 * @module
 */

import { Attr, attrName } from "../nfs4/attrs.ts";

const IDS: ReadonlyMap<string, number> = new Map(
  Object.entries(Attr).map(([name, id]) => [name.toLowerCase(), id]),
);

/** The lower-case RFC name of attribute `id` (`attr_N` for an id this client does not know). */
export function attributeName(id: number): string {
  return attrName(id).toLowerCase();
}

/** The id of the attribute named `name` (lower case), when this client knows it. */
export function attributeId(name: string): number | undefined {
  return IDS.get(name);
}
