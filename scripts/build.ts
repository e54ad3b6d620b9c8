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
 *        deno run -A scripts/build.ts --bun-only   # only install Bun into .tools/bun
 * @module
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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

/**
 * Bun from the npm package `bun`, installed into .tools/bun (also by
 * scripts/install.sh through `--bun-only`, so that tests run in Bun find it
 * before any of them builds the binary).
 */
export function bunBinary(): string {
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

/**
 * Start-up flags of the executable, beside `--bytecode` (issue 19).
 *
 * The JIT: `--compile-jit-policy=64` multiplies JavaScriptCore's tier-up
 * thresholds by 64 from the start, and the banner puts them back to normal
 * (`Bun.unsafe.setJITPolicy(1)`) once the process has run 250 ms. A short
 * command runs most of its code a few thousand times at most, and the
 * optimizing compilers' threads were a third of the CPU of an `ls -l` of
 * 10,000 entries: that work is mostly left undone now. A long command (a
 * `cp -r` of 10,000 files) gets the normal policy after its first 250 ms;
 * with the scale kept for the whole run it cost 4-12% more CPU there, as its
 * hot code reached the optimizing tiers later. Measured on the bench's
 * 2-core VM, CPU of the whole process, medians of 12-16 interleaved runs:
 * `--version` 19-23 -> 16-18 ms, `cat` of one small file 34-37 -> 27 ms,
 * `cat` of 1,000 files 168 -> 133 ms, `ls -l` 10k 153-158 -> 140-156 ms;
 * 1 GiB reads and `cp -r` unchanged. A scale of 64 instead of 8 (a later
 * round, quiet machine, 12 interleaved runs): `ls -l` 10k 120 -> 95 ms of
 * CPU and 72 -> 69 MB at the same wall time, `cat` of 1,000 files 125 ->
 * 110 ms, 1 GiB `cat` unchanged; 256 saved 2-5 MB more but made that
 * `ls -l` slower by the clock.
 *
 * Between 250 ms and 1 s the scale is 16, not 1 (a later round): a 1 GiB
 * read's per-READ code ran a thousand times or so and was then optimized by
 * DFG, 145 functions and 66 ms of compiler CPU for a read that was nearly
 * over (with DFG off, `BUN_JSC_useDFGJIT=0`, such a read took 0.05 CPU-s
 * less). Client CPU, medians of 15 interleaved runs, two sets: 1 GiB `cat`
 * 0.359 -> 0.334 and 0.371 -> 0.357 s, `cp` to a file 0.858 -> 0.826 s
 * (9 runs); `cp -r` of 10,000 files 2.50 -> 2.37 s, a 16 GiB read 3.93 ->
 * 3.93 s, `ls -l` and `cat` of 1,000 files unchanged. Scales kept for the
 * whole run (16, 64) cost `cp -r` 5-6% and the 16 GiB read 5-8%: long
 * runs need DFG. FTL compiles 80-110 functions in a 16 GiB read whatever
 * the scale (setJITPolicy does not hold it back).
 *
 * No `.env` or `bunfig.toml` from the working directory: Bun loads both into
 * a compiled program by default, so a `bunfig.toml` `preload` there ran its
 * code inside `nfs4`, and a `.env` set its environment (`NFS4_SOCKET`,
 * `TIME_STYLE` ...). (tsconfig.json and package.json are off by default.)
 */
const STARTUP_FLAGS = [
  "--compile-jit-policy=64",
  "--banner=for (const [t, v] of [[250, 16], [1000, 1]]) setTimeout(() => Bun.unsafe.setJITPolicy(v), t).unref();",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

export function build(outfile = join(root, "dist/nfs4")): { outfile: string; bytes: number } {
  // npm packages into node_modules, where Bun resolves bare specifiers.
  run(process.execPath, ["install", "--frozen"]);
  const bun = bunBinary();
  mkdirSync(dirname(outfile), { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const args = [
    "build",
    "--compile",
    "--minify",
    // Precompiled to JavaScriptCore bytecode: start-up skips parsing the
    // bundle (a `nfs4 cat` of a small file: 50 ms -> 20 ms).
    "--bytecode",
    "--format=esm",
    ...STARTUP_FLAGS,
    join(root, "cli/main.ts"),
    "--define",
    `NFS4_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
    "--define",
    `NFS4_BUILD_DATE=${JSON.stringify(date)}`,
    "--define",
    `NFS4_BUILD_KIND=${JSON.stringify("single binary")}`,
  ];
  // Profile-guided bytecode layout, in two passes: a first binary records
  // which functions `nfs4 --version` runs (every start-up does the same),
  // and the second one is laid out with those together at the front, so a
  // run maps fewer pages of bytecode (peak RSS 1-2.5 MB lower; CPU
  // unchanged). The first pass and its profile live in a temporary folder.
  const scratch = mkdtempSync(join(tmpdir(), "nfs4-build-"));
  try {
    const first = join(scratch, "nfs4");
    const order = join(scratch, "startup.order");
    run(bun, [...args, "--outfile", first]);
    const profiled = spawnSync(first, ["--version"], {
      env: { ...process.env, BUN_BYTECODE_ORDER_OUT: order },
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (profiled.status !== 0 || !existsSync(order)) {
      throw new Error(`${first} --version wrote no bytecode profile (${profiled.status})`);
    }
    run(bun, [...args, `--bytecode-order=${order}`, "--outfile", outfile]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!existsSync(outfile)) throw new Error(`bun build wrote no ${outfile}`);
  return { outfile, bytes: statSync(outfile).size };
}

if (import.meta.main && process.argv.includes("--bun-only")) {
  console.error(`build: bun at ${bunBinary()}`);
} else if (import.meta.main) {
  const i = process.argv.indexOf("--outfile");
  const outfile = i >= 0 ? resolve(process.argv[i + 1] ?? "") : undefined;
  const { outfile: written, bytes } = build(outfile);
  console.error(`build: wrote ${written} (${(bytes / 1048576).toFixed(1)} MiB)`);
}
