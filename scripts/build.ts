/**
 * `deno task build`: the offline single-binary build. Writes `dist/nfs4`, one
 * self-contained executable, from the same sources as `deno run cli/main.ts`.
 *
 * `deno compile` (the `compile` task) needs Deno's runtime (denort), which it
 * downloads; where that download is impossible, this task uses Bun from the
 * npm registry instead (`bun build --compile`), whose runtime ships inside its
 * npm package. The sources are written for both: `node:` APIs, static
 * imports, npm packages by bare name (resolved from node_modules, which
 * `deno install` fills from deno.lock).
 *
 * Usage: deno task build [--outfile PATH]
 * @module
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";

const BUN_VERSION = "1.4.5";
const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

function run(cmd: string, args: string[], options: { cwd?: string } = {}): void {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: options.cwd ?? root });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed with status ${result.status ?? result.signal}`,
    );
  }
}

/** Bun from the npm package `bun`, installed into .tools/bun. */
function bunBinary(): string {
  const bin = join(root, ".tools/bun/node_modules/.bin/bun");
  let installed = "";
  try {
    installed = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  } catch { /* not installed yet */ }
  if (installed !== BUN_VERSION) {
    console.error(`build: installing bun ${BUN_VERSION} from npm`);
    mkdirSync(join(root, ".tools/bun"), { recursive: true });
    run("npm", [
      "install",
      "--silent",
      "--no-audit",
      "--no-fund",
      "--prefix",
      join(root, ".tools/bun"),
      `bun@${BUN_VERSION}`,
    ]);
  }
  return bin;
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" })
      .trim();
  } catch {
    return "unknown";
  }
}

export function build(outfile = join(root, "dist/nfs4")): { outfile: string; bytes: number } {
  // npm packages into node_modules, where Bun resolves bare specifiers.
  run(process.execPath, ["install", "--frozen"]);
  const bun = bunBinary();
  mkdirSync(dirname(outfile), { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  run(bun, [
    "build",
    "--compile",
    "--minify",
    // Precompiled to JavaScriptCore bytecode: start-up skips parsing the
    // bundle (a `nfs4 cat` of a small file: 50 ms -> 20 ms).
    "--bytecode",
    "--format=esm",
    join(root, "cli/main.ts"),
    "--outfile",
    outfile,
    "--define",
    `NFS4_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
    "--define",
    `NFS4_BUILD_DATE=${JSON.stringify(date)}`,
    "--define",
    `NFS4_BUILD_KIND=${JSON.stringify("single binary")}`,
  ]);
  if (!existsSync(outfile)) throw new Error(`bun build wrote no ${outfile}`);
  return { outfile, bytes: statSync(outfile).size };
}

if (import.meta.main) {
  const i = process.argv.indexOf("--outfile");
  const outfile = i >= 0 ? resolve(process.argv[i + 1] ?? "") : undefined;
  const { outfile: written, bytes } = build(outfile);
  console.error(`build: wrote ${written} (${(bytes / 1048576).toFixed(1)} MiB)`);
}
