/**
 * The table-driven comparison of `nfs4 chmod`, `chown`, `touch` and
 * `truncate` with GNU coreutils: each row copies one sample tree (`cp -a`,
 * so modes, owners and nanosecond times are the same) into a local folder
 * and behind the Ganesha export, runs coreutils on the local copy and
 * `nfs4` through NFS on the other, then compares
 *
 * - the trees (`find -printf` with the fields the command may change, and
 *   each regular file's SHA-256),
 * - stdout (`-v`/`-c` lines) with the row's URLs mapped back to the local
 *   names (`'nfs://…/vfs/w/d/x'` → `'d/x'`), as sorted lines (READDIR's
 *   order is the server's, not the local file system's),
 * - which operands failed (the quoted name in each coreutils message, the
 *   URL in each of nfs4's), and the exit codes.
 *
 * Operands are written `@rel` in a row (`rel` starting with a letter):
 * coreutils gets `rel` (run in the local copy), nfs4 gets `URL/rel`.
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";
import { VERSIONS } from "./_cp.ts";
import { type Ran, type RunAs, runLocal, runNfs4 } from "./_run_as.ts";

export { type Ran, type RunAs, runLocal, runNfs4 } from "./_run_as.ts";

let libc:
  | Deno.DynamicLibrary<{
    open: { parameters: ["buffer", "i32"]; result: "i32" };
    read: { parameters: ["i32", "buffer", "usize"]; result: "isize" };
    close: { parameters: ["i32"]; result: "i32" };
  }>
  | undefined;

/** O_RDONLY | O_NOATIME (Linux): reading leaves the access time alone (we are root). */
const O_NOATIME = 0o1000000;

/**
 * The contents of `path`, read without changing its access time: under
 * relatime a read would move an atime that is not after the mtime, and the
 * touch tests compare atimes to the nanosecond.
 */
export function readNoAtime(path: string): Uint8Array {
  libc ??= Deno.dlopen("libc.so.6", {
    open: { parameters: ["buffer", "i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const c = libc.symbols;
  const name = new TextEncoder().encode(path + "\0");
  const fd = c.open(name, O_NOATIME);
  assert.ok(fd >= 0, `open ${path} failed`);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const buffer = new Uint8Array(65536);
      const n = Number(c.read(fd, buffer, BigInt(buffer.length)));
      assert.ok(n >= 0, `read ${path} failed`);
      if (n === 0) break;
      chunks.push(buffer.subarray(0, n));
    }
  } finally {
    c.close(fd);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Fields every comparison shows: mode, owner, group, links, kind, symlink target. */
export const BASE_FIELDS = "%m %u %g %n %y";

/**
 * Every entry under `root` (itself as `.`), one sorted line each:
 * `fields` (find -printf directives), the relative path, a symlink's target
 * and a regular file's SHA-256. The times of the `untimed` entries (relative
 * paths, `""` for the root) are shown as `*`.
 */
export async function snapshot(
  root: string,
  fields: string,
  untimed: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const r = await runLocal(["find", ".", "-printf", `%y\\t%P\\t${fields} %P -> %l\\n`], root);
  assert.equal(r.code, 0, r.stderr);
  const lines: string[] = [];
  for (const line of r.stdout.split("\n")) {
    if (line === "") continue;
    const [kind, rel, printed] = line.split("\t") as [string, string, string];
    // find's times (%T@, %A@) of the entries whose times are not compared.
    const shown = untimed.has(rel) ? printed.replace(/\b-?\d+\.\d{10}\b/g, "*") : printed;
    if (kind === "f") {
      const data = readNoAtime(`${root}/${rel}`);
      lines.push(`${shown} sha256:${createHash("sha256").update(data).digest("hex").slice(0, 16)}`);
    } else {
      lines.push(shown);
    }
  }
  return lines.sort();
}

/**
 * The sample tree every row starts from:
 *
 * ```
 * a ("alpha", 0644)  b (empty, 0755)  s (04755)  big (10000 bytes)
 * d/ (2755)  d/x (0600)  d/sub/ (0700)  d/sub/y (0444)  d/ly -> ../a
 * l -> a   ld -> d   dang -> nowhere   ref (mtime 2002-03-04 …)
 * u/ (uid 1000)  u/mine (uid 1000)  u/priv/ (root, 0700)  u/priv/z
 * r/ (root, 0755)  r/f (root, 0644)
 * pub (root, 0666)
 * ```
 */
export async function buildSample(root: string): Promise<void> {
  await fs.mkdir(root, { mode: 0o755 });
  await fs.chmod(root, 0o755);
  const file = async (rel: string, data: string | Uint8Array = "", mode = 0o644) => {
    await fs.writeFile(`${root}/${rel}`, data);
    await fs.chmod(`${root}/${rel}`, mode);
  };
  const dir = async (rel: string, mode = 0o755) => {
    await fs.mkdir(`${root}/${rel}`);
    await fs.chmod(`${root}/${rel}`, mode);
  };
  await file("a", "alpha\n");
  await file("b", "", 0o755);
  await file("s", "suid\n", 0o4755);
  await file("big", new Uint8Array(10000).map((_, i) => (i * 7 + 3) & 0xff));
  await dir("d", 0o2755);
  await file("d/x", "x\n", 0o600);
  await dir("d/sub", 0o700);
  await file("d/sub/y", "y\n", 0o444);
  await fs.symlink("../a", `${root}/d/ly`);
  await fs.symlink("a", `${root}/l`);
  await fs.symlink("d", `${root}/ld`);
  await fs.symlink("nowhere", `${root}/dang`);
  await file("ref", "ref\n");
  await dir("u");
  await file("u/mine", "mine\n");
  await fs.chown(`${root}/u/mine`, 1000, 1000);
  await dir("u/priv", 0o700);
  await file("u/priv/z", "z\n");
  await fs.chown(`${root}/u`, 1000, 1000);
  await dir("r");
  await file("r/f", "root\n");
  await file("pub", "anyone\n", 0o666);
  // Times of their own, to the nanosecond, so any change shows.
  const stamp = async (rel: string, atime: string, mtime: string) => {
    for (const [flag, date] of [["-a", atime], ["-m", mtime]]) {
      const r = await runLocal(["touch", "-h", flag!, "-d", date!, rel], root);
      assert.equal(r.code, 0, r.stderr);
    }
  };
  // Access times in the future: under relatime no read (cp -a of the
  // template, a hash) moves one that is after the mtime, ctime and now.
  await stamp("ref", "2036-02-03 04:05:06.123456789", "2002-03-04 05:06:07.987654321");
  for (const rel of ["a", "b", "s", "big", "d/x", "d/sub/y", "u/mine", "u/priv/z", "r/f", "pub"]) {
    await stamp(rel, "2037-01-01 00:00:00.5", "2019-06-07 08:09:10.111111111");
  }
  for (const rel of [".", "d", "d/sub", "u/priv", "u", "r", "d/ly", "l", "ld", "dang"]) {
    const r = await runLocal(["touch", "-h", "-a", "-d", "2037-01-01 00:00:00.25", rel], root);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** One row of a table. */
export interface Row {
  /** What the row shows. */
  readonly name: string;
  /** Options and `@rel` operands (an option's `@rel` argument too). */
  readonly args: readonly string[];
  /** nfs4's exit code when it differs from coreutils' (usage errors: 2, not 1). */
  readonly code?: number;
  /** How both run. */
  readonly as?: RunAs;
  /** What nfs4's stderr must match, line by line in order (else: the failed names compared). */
  readonly stderr?: readonly RegExp[];
  /** Leave stdout uncompared (coreutils prints what nfs4 does not). */
  readonly skipStdout?: boolean;
  /**
   * Entries whose times are not compared (`""`: the root): a directory in
   * which a file is created gets its mtime at a different moment on each side.
   */
  readonly untimed?: readonly string[];
}

/** A copy of the sample for each side, per row. */
export interface Sides {
  /** The local copy coreutils works on. */
  readonly local: string;
  /** The copy behind the export nfs4 works on (under `server.exportDir`). */
  readonly remote: string;
  /** The URL of the remote copy. */
  readonly url: string;
}

/** Builds the sample once (`template`), and each row's two copies from it. */
export class Fixture {
  readonly template: string;
  readonly scratch: string;
  readonly server: TestServer;
  #n = 0;

  private constructor(server: TestServer, scratch: string) {
    this.server = server;
    this.scratch = scratch;
    this.template = `${scratch}/template`;
  }

  static async create(server: TestServer): Promise<Fixture> {
    const scratch = await Deno.makeTempDir({ prefix: "nfs4-setattr-" });
    const fixture = new Fixture(server, scratch);
    await buildSample(fixture.template);
    return fixture;
  }

  /** Two fresh copies of the sample. */
  async sides(): Promise<Sides> {
    const n = this.#n++;
    const local = `${this.scratch}/local${n}`;
    const remote = `${this.server.exportDir}/w${n}`;
    for (const to of [local, remote]) {
      const r = await runLocal(["cp", "-a", this.template, to], "/");
      assert.equal(r.code, 0, r.stderr);
    }
    return { local, remote, url: `${this.server.url}/vfs/w${n}` };
  }

  async remove(): Promise<void> {
    await fs.rm(this.scratch, { recursive: true, force: true });
  }
}

/**
 * A test on a fresh server with a {@linkcode Fixture} on it (removed
 * afterwards); skipped where Ganesha cannot run.
 */
export function fixtureTest(
  name: string,
  fn: (fixture: Fixture, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) =>
      withServer(async (server) => {
        const fixture = await Fixture.create(server);
        try {
          await fn(fixture, t);
        } finally {
          await fixture.remove();
        }
      }),
  });
}

/** Each of `rows` as a step of `t`, on 4.0 and 4.1 ({@linkcode compareRow}). */
export async function compareRows(
  fixture: Fixture,
  t: Deno.TestContext,
  cmd: string,
  rows: readonly Row[],
  fields: string,
): Promise<void> {
  for (const version of VERSIONS) {
    for (const row of rows) {
      await t.step(`${version}: ${row.name}`, async () => {
        await compareRow(fixture, cmd, row, version, fields);
      });
    }
  }
}

/** Operands for coreutils (`rel`) and for nfs4 (`URL/rel`). */
export function operands(args: readonly string[], url: string): { gnu: string[]; ours: string[] } {
  // `@` and a letter: `@1700000000` stays a date.
  const operand = (a: string) => /^@[A-Za-z]/.test(a);
  return {
    gnu: args.map((a) => operand(a) ? a.slice(1) : a),
    ours: args.map((a) => operand(a) ? `${url}/${a.slice(1)}` : a),
  };
}

/** nfs4's stdout with the row's URLs written as coreutils names the files. */
export function localNames(text: string, url: string): string {
  return text.replaceAll(`'${url}/`, "'");
}

/** The names coreutils' messages quote (`chmod: cannot access 'x': …` → `x`), sorted. */
export function gnuFailures(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "").map((line) => {
    const m = /['‘]([^'’]*)['’]/.exec(line);
    return m ? m[1]! : line;
  }).sort();
}

/** The URLs nfs4's messages name, as local names, sorted. */
export function ourFailures(stderr: string, url: string): string[] {
  return stderr.split("\n").filter((l) => l !== "").map((line) => {
    const m = /^nfs4: (nfs:\/\/\S+?): /.exec(line);
    return m ? m[1]!.slice(url.length + 1) : line;
  }).sort();
}

const sortedLines = (text: string) => text.split("\n").filter((l) => l !== "").sort();

/**
 * Runs `row` both ways (coreutils `cmd` and `nfs4 [--vers V] cmd`) on fresh
 * copies and compares trees (`fields`), stdout, failures and exit codes.
 * Returns both runs and sides for further checks.
 */
export async function compareRow(
  fixture: Fixture,
  cmd: string,
  row: Row,
  version: string,
  fields: string,
): Promise<{ gnu: Ran; ours: Ran; sides: Sides }> {
  const sides = await fixture.sides();
  const { gnu: gnuArgs, ours: ourArgs } = operands(row.args, sides.url);
  const gnu = await runLocal([cmd, ...gnuArgs], sides.local, row.as ?? {});
  const ours = await runNfs4(["--vers", version, cmd, ...ourArgs], row.as ?? {});
  const what = `${cmd} ${row.args.join(" ")} (${row.name}, ${version})`;
  assert.equal(ours.code, row.code ?? gnu.code, `${what}: exit code\n${ours.stderr}`);
  if (!row.skipStdout) {
    assert.deepEqual(
      sortedLines(localNames(ours.stdout, sides.url)),
      sortedLines(gnu.stdout),
      `${what}: stdout`,
    );
  }
  if (row.stderr) {
    const lines = ours.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, row.stderr.length, `${what}: stderr\n${ours.stderr}`);
    row.stderr.forEach((re, i) => assert.match(lines[i]!, re, `${what}: stderr`));
  } else {
    assert.deepEqual(
      ourFailures(ours.stderr, sides.url),
      gnuFailures(gnu.stderr),
      `${what}: the files that failed\nnfs4: ${ours.stderr}\ncoreutils: ${gnu.stderr}`,
    );
  }
  const untimed = new Set(row.untimed ?? []);
  assert.deepEqual(
    await snapshot(sides.remote, fields, untimed),
    await snapshot(sides.local, fields, untimed),
    `${what}: the trees`,
  );
  return { gnu, ours, sides };
}
