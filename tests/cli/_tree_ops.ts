/**
 * The table-driven comparison of `nfs4 rm`, `rmdir` and `mkdir` with GNU
 * coreutils: each row builds the same sample tree twice, once in a local
 * folder and once behind the Ganesha export, runs the coreutils command on
 * the local one and `nfs4` on the other through NFS, and compares
 *
 * - the trees after (`find -printf '%m %u %g %n %y %s %p %l'`: modes,
 *   owners, link counts, kinds, sizes of all but directories, names,
 *   symlink targets),
 * - stdout (`-v` lines), the URL of the case mapped to its local path,
 * - stderr: each failure as `PATH: REASON` (coreutils' and nfs4's own
 *   wording mapped to that; nfs4's NFS status dropped), or the prompts,
 * - and the exit codes.
 *
 * Operands are written `@rel` in a row: coreutils gets `LOCAL/rel` (an
 * absolute path, so `rmdir -p` climbs the same directories on both sides),
 * nfs4 gets `URL/rel`.
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import type { TestServer } from "../_server.ts";
import { type RunAs, runLocal, runNfs4 } from "./_run_as.ts";

export { type Ran, type RunAs, runLocal, runNfs4 } from "./_run_as.ts";

/**
 * Every entry under `root` (root itself as `.`), one line each, sorted:
 * mode, owner, group, links, kind, size (not for directories, whose size
 * depends on their history), path, symlink target.
 */
export async function findTree(root: string): Promise<string[]> {
  const r = await runLocal(["find", ".", "-printf", "%m %u %g %n %y %s %p %l\\n"], root);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((line) => line !== "").map((line) => {
    const [mode, user, group, links, kind, size, ...rest] = line.split(" ");
    return [mode, user, group, links, kind, kind === "d" ? "-" : size, ...rest].join(" ");
  }).sort();
}

/**
 * The sample tree of every row, built the same way on both sides:
 *
 * ```
 * keep  f ("data")  g (empty)  hl (2 links, the other t/hl2)
 * e/ (empty)   d/in   sg/ (2775)   pub/ (0777)   u/in (uid 1000)
 * t/x (0600)  t/lf -> x  t/ld -> ../d  t/hl2  t/a/g  t/a/b/h  t/e2/
 * i1/s/x   lnk -> t   dang -> nowhere
 * ```
 */
export async function buildSample(root: string): Promise<void> {
  await fs.mkdir(root, { mode: 0o755 });
  await fs.chmod(root, 0o755);
  const file = async (rel: string, data = "", mode = 0o644) => {
    await fs.writeFile(`${root}/${rel}`, data);
    await fs.chmod(`${root}/${rel}`, mode);
  };
  const dir = async (rel: string, mode = 0o755) => {
    await fs.mkdir(`${root}/${rel}`);
    await fs.chmod(`${root}/${rel}`, mode);
  };
  await file("keep", "keep\n");
  await file("f", "data\n");
  await file("g");
  await dir("e");
  await dir("d");
  await file("d/in", "in\n");
  await dir("sg", 0o2775);
  await dir("pub", 0o777);
  await dir("u");
  await file("u/in", "in\n");
  await fs.chown(`${root}/u/in`, 1000, 1000);
  await fs.chown(`${root}/u`, 1000, 1000);
  await dir("t");
  await file("t/x", "secret\n", 0o600);
  await fs.symlink("x", `${root}/t/lf`);
  await fs.symlink("../d", `${root}/t/ld`);
  await file("hl", "linked\n");
  await fs.link(`${root}/hl`, `${root}/t/hl2`);
  await dir("t/a");
  await file("t/a/g", "g\n");
  await dir("t/a/b");
  await file("t/a/b/h", "h\n");
  await dir("t/e2");
  await dir("i1");
  await dir("i1/s");
  await file("i1/s/x", "x\n");
  await fs.symlink("t", `${root}/lnk`);
  await fs.symlink("nowhere", `${root}/dang`);
}

/** One row of a table. */
export interface Row {
  /** What the row shows. */
  readonly name: string;
  /** The coreutils program (`rm`, `rmdir`, `mkdir`); nfs4's command has its name. */
  readonly cmd: "rm" | "rmdir" | "mkdir";
  /** Options and `@rel` operands. */
  readonly args: readonly string[];
  readonly as?: RunAs;
  /** Exit code both give (default 0). */
  readonly code?: number;
  /** Compare stdout line by line in any order (rm -r follows each side's READDIR order). */
  readonly unordered?: boolean;
  /**
   * nfs4's failures as `REL: REASON` lines, where they are worded
   * differently from coreutils' on purpose (nfs4 names the component that
   * is missing); by default they must be coreutils' own.
   */
  readonly errors?: readonly string[];
  /** stderr holds prompts: compare it whole, `nfs4: ` read as `CMD: `. */
  readonly prompts?: boolean;
}

/** Failures in `stderr` as sorted `PATH: REASON` lines (coreutils' or nfs4's). */
export function failures(stderr: string, map: (text: string) => string = (t) => t): string[] {
  const out: string[] = [];
  for (const line of stderr.split("\n")) {
    if (line === "" || line.startsWith("Try '")) continue;
    const m =
      /^(?:rm|rmdir|mkdir|nfs4): (?:cannot remove|failed to remove|cannot create directory) ['‘](.*)['’]: (.*)$/
        .exec(line) ??
        /^(?:rm|nfs4): refusing to remove '\.' or '\.\.' directory: skipping '(.*)'()$/.exec(
          line,
        ) ??
        /^(?:rm|rmdir|mkdir|nfs4): (?:failed to remove directory )?'?(\S+?)'?: (.*?)(?: \(NFS4ERR_\w+\))?$/
          .exec(line);
    out.push(m ? `${map(m[1]!)}: ${m[2] || "refused"}` : map(line));
  }
  return out.sort();
}

/**
 * Runs `row` with coreutils in `local` and with nfs4 (`--vers vers`) in
 * the same tree behind the export, and compares what the module header
 * says. `caseName` names the folder of this run on both sides.
 */
export async function compareRow(
  server: TestServer,
  vers: string,
  local: string,
  caseName: string,
  row: Row,
): Promise<void> {
  const localRoot = `${local}/${caseName}`;
  const exportRoot = `${server.exportDir}/${caseName}`;
  const base = `${server.url}/vfs/${caseName}`;
  await buildSample(localRoot);
  await buildSample(exportRoot);
  const operand = (side: string) => (arg: string) =>
    arg.startsWith("@") ? `${side}/${arg.slice(1)}` : arg;
  const coreutils = await runLocal(
    [row.cmd, ...row.args.map(operand(localRoot))],
    localRoot,
    row.as,
  );
  const ours = await runNfs4(
    ["--vers", vers, row.cmd, ...row.args.map(operand(base))],
    row.as,
  );
  const what = `${row.cmd} ${row.args.join(" ")} (--vers ${vers})\n${ours.stderr}`;
  const toLocal = (text: string) => text.split(base).join(localRoot);
  assert.equal(ours.code, row.code ?? 0, what);
  assert.equal(coreutils.code, row.code ?? 0, `coreutils: ${coreutils.stderr}`);
  assert.deepEqual(await findTree(exportRoot), await findTree(localRoot), `${what}: the trees`);
  const lines = (text: string) => {
    const all = text.split("\n").filter((line) => line !== "");
    return row.unordered ? all.sort() : all;
  };
  assert.deepEqual(lines(toLocal(ours.stdout)), lines(coreutils.stdout), `${what}: stdout`);
  if (row.prompts) {
    assert.equal(
      toLocal(ours.stderr).replaceAll("nfs4: ", `${row.cmd}: `),
      coreutils.stderr,
      `${what}: prompts`,
    );
  } else if (row.errors) {
    const rel = (text: string) => text.startsWith(`${base}/`) ? text.slice(base.length + 1) : text;
    assert.deepEqual(failures(ours.stderr, rel), [...row.errors].sort(), `${what}: stderr`);
  } else {
    assert.deepEqual(failures(ours.stderr, toLocal), failures(coreutils.stderr), `${what}: stderr`);
  }
}
