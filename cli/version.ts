/**
 * The version `nfs4 --version` prints. The build script may replace
 * `BUILD_INFO` when it compiles a release binary.
 * @module
 */

import process from "node:process";

/** The release version, kept equal to deno.json's `version`. */
export const VERSION = "0.1.0";

/** What was built from where; `commit` is `dev` for a source checkout. */
export const BUILD_INFO: { readonly commit: string; readonly date: string } = {
  commit: "dev",
  date: "",
};

/** The runtime executing us: `deno 2.1.0`, `bun 1.1.0` or `node 22.0.0`. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `bun ${versions.bun}`;
  if (versions.deno) return `deno ${versions.deno}`;
  return `node ${versions.node ?? "unknown"}`;
}

/** `nfs4 0.1.0 (dev; deno 2.1.0)`. */
export function versionText(): string {
  const build = BUILD_INFO.date ? `${BUILD_INFO.commit} ${BUILD_INFO.date}` : BUILD_INFO.commit;
  return `nfs4 ${VERSION} (${build}; ${runtimeName()})`;
}
