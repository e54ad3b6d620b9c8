/**
 * The single binary (scripts/build.ts, Bun), built once for the test module
 * that asks for it, into a temporary folder removed when the module ends.
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";

let built: string | undefined;

/** The binary's path, building it at the first call. */
export function builtBinary(): string {
  if (built === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "nfs4-binary-build-"));
    globalThis.addEventListener("unload", () => rmSync(dir, { recursive: true, force: true }));
    built = build(join(dir, "nfs4")).outfile;
  }
  return built;
}
