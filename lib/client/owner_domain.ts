/**
 * The domain a server's owner strings carry (RFC 7530 §5.9, RFC 8881
 * §5.9): a server that maps ids to names says so in every owner string it
 * can map (`alice@example.org`), and wants that form back; one without ID
 * mapping sends (and takes) the decimal id (`1000`). What `cp -p` and
 * `chown` send a server follows the form its own strings have.
 *
 * @example
 * ```ts
 * ownerDomain("alice@example.org"); // "example.org"
 * ownerDomain("1000");              // undefined
 * ownerDomain(undefined, "staff@example.org"); // "example.org"
 * ```
 * @module
 */

/** The domain of the first of `owners` that is `name@domain`, or undefined. */
export function ownerDomain(...owners: readonly (string | undefined)[]): string | undefined {
  for (const owner of owners) {
    const at = owner?.lastIndexOf("@") ?? -1;
    if (at > 0 && at < owner!.length - 1) return owner!.slice(at + 1);
  }
  return undefined;
}
