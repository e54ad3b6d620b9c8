/**
 * Layers talk downward only (README "Library"): cli → lib/client → lib/state
 * → lib/nfs4 → lib/rpc → lib/xdr, with lib/os beside them for the system.
 * A command that reached past the client API into the state manager
 * (cli/lock.ts once imported lib/state/client_owner.ts) fails here.
 */

import assert from "node:assert/strict";
import { ROOT } from "./cli/_spawn.ts";

/** What each folder's modules may import from the others. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  "cli": ["cli", "lib/client", "lib/os"],
  "lib/client": ["lib/client", "lib/state", "lib/nfs4", "lib/rpc", "lib/xdr", "lib/os"],
  "lib/state": ["lib/state", "lib/nfs4", "lib/rpc", "lib/xdr", "lib/os"],
  "lib/nfs4": ["lib/nfs4", "lib/rpc", "lib/xdr"],
  "lib/rpc": ["lib/rpc", "lib/xdr", "lib/os"],
  "lib/xdr": ["lib/xdr"],
  "lib/os": ["lib/os", "lib/xdr"],
};

/** The project folder (`cli`, `lib/state`, ...) a relative import from `dir` lands in. */
function folderOf(dir: string, specifier: string): string {
  const parts = dir.split("/");
  for (const part of specifier.split("/").slice(0, -1)) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  const path = parts.join("/");
  return Object.keys(MAY_IMPORT).find((f) => path === f || path.startsWith(`${f}/`)) ?? path;
}

/** The .ts files under `folder` (relative to the repository), subfolders included. */
function sources(folder: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}${folder}`)) {
    if (entry.isDirectory) files.push(...sources(`${folder}/${entry.name}`));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${folder}/${entry.name}`);
  }
  return files;
}

Deno.test("layers import downward only: cli → client → state → nfs4 → rpc → xdr (os beside)", () => {
  const wrong: string[] = [];
  for (const folder of Object.keys(MAY_IMPORT)) {
    for (const file of sources(folder)) {
      const dir = file.slice(0, file.lastIndexOf("/"));
      const text = Deno.readTextFileSync(`${ROOT}${file}`);
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
        const target = folderOf(dir, m[1]!);
        if (target === "." || target === "") continue; // mod.ts and the like: not a layer
        if (!MAY_IMPORT[folder]!.includes(target)) {
          wrong.push(`${file} imports ${m[1]} (${target})`);
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
});
