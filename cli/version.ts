/**
 * The version `nfs4 --version` prints. The build script may replace
 * `BUILD_INFO` when it compiles a release binary.
 * @module
 */

import process from "node:process";

/** The release version, kept equal to deno.json's `version`. */
export const VERSION = "0.1.0";

// Replaced by the single-binary build (scripts/build.ts, `bun build --define`);
// undeclared when running from source.
declare const NFS4_BUILD_COMMIT: string | undefined;
declare const NFS4_BUILD_DATE: string | undefined;
declare const NFS4_BUILD_KIND: string | undefined;

/** What was built from where; `commit` is `dev` for a source checkout. */
export const BUILD_INFO: { readonly commit: string; readonly date: string; readonly kind: string } =
  {
    commit: typeof NFS4_BUILD_COMMIT === "string" ? NFS4_BUILD_COMMIT : "dev",
    date: typeof NFS4_BUILD_DATE === "string" ? NFS4_BUILD_DATE : "",
    kind: typeof NFS4_BUILD_KIND === "string" ? NFS4_BUILD_KIND : "source",
  };

/** The runtime executing us: `deno 2.1.0`, `bun 1.1.0` or `node 22.0.0`. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `bun ${versions.bun}`;
  if (versions.deno) return `deno ${versions.deno}`;
  return `node ${versions.node ?? "unknown"}`;
}

/** `nfs4 0.1.0 (dev; deno 2.1.0)` or `nfs4 0.1.0 (3f2a1bc 2026-11-21; single binary, bun 1.4.5)`. */
export function versionText(): string {
  const build = BUILD_INFO.date ? `${BUILD_INFO.commit} ${BUILD_INFO.date}` : BUILD_INFO.commit;
  const kind = BUILD_INFO.kind === "source" ? "" : `${BUILD_INFO.kind}, `;
  return `nfs4 ${VERSION} (${build}; ${kind}${runtimeName()})`;
}
