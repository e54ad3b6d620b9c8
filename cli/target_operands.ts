/**
 * `SOURCE... DEST` operands as coreutils' `mv` and `ln` take them: the last
 * operand is the destination, or, with `-t DIR`, every operand is a source
 * and DIR the destination; `-T` (the destination is the name itself) takes
 * exactly two operands and conflicts with `-t`. Usage errors are thrown
 * before anything is done.
 * @module
 */

import { UsageError } from "../lib/client/url.ts";

/** The operands split into sources and the destination, as typed. */
export interface TargetOperands {
  readonly sources: readonly string[];
  readonly dest: string;
}

/**
 * Splits `operands` as `mv` and `ln` do; `missing` is the message for a
 * lone operand (`missing destination file operand after 'a'`). Throws
 * {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * splitTargetOperands(["a", "b", "dir"], { noTargetDirectory: false }, ...);
 * // { sources: ["a", "b"], dest: "dir" }
 * ```
 */
export function splitTargetOperands(
  operands: readonly string[],
  options: { readonly targetDirectory?: string | undefined; readonly noTargetDirectory: boolean },
  missing: (first: string) => string,
): TargetOperands {
  const { targetDirectory, noTargetDirectory } = options;
  if (targetDirectory !== undefined && noTargetDirectory) {
    throw new UsageError("cannot combine --target-directory (-t) and --no-target-directory (-T)");
  }
  if (targetDirectory !== undefined) return { sources: operands, dest: targetDirectory };
  if (operands.length < 2) throw new UsageError(missing(operands[0] ?? ""));
  if (noTargetDirectory && operands.length > 2) {
    throw new UsageError(`extra operand '${operands[2]}'`);
  }
  return { sources: operands.slice(0, -1), dest: operands.at(-1)! };
}
