/**
 * Helpers for the `nfs4 mv` and `nfs4 ln` tests: bash with byte-exact words,
 * `nfs4` run through it (arguments and output as exact bytes, stdin as
 * given), trees listed with `find -printf` and compared entry for entry,
 * and operands written once for both coreutils and nfs4.
 *
 * ```ts
 * const want = await bash(`mv a d`, { cwd: refDir });
 * const got = await nfs4(["mv", `${base}/a`, `${base}/d`]);
 * assertSameListing(await listing(exportCaseDir), await listing(refDir));
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { decodeByteString, encodeByteString } from "../../lib/client/names.ts";
import { encodeComponent } from "../../lib/client/url.ts";
import { ROOT } from "./_spawn.ts";

/** What one command printed and how it ended (byte strings). */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A shell word for `text` (a byte string): every byte as `\xHH` in bash's $'…'. */
export function shellWord(text: string): string {
  const hex = Array.from(encodeByteString(text), (b) => `\\x${b.toString(16).padStart(2, "0")}`);
  return `$'${hex.join("")}'`;
}

/** Runs a bash script in the C locale; `stdin` is its input (else none). */
export async function bash(
  script: string,
  options: { cwd?: string; stdin?: string } = {},
): Promise<Run> {
  const feed = options.stdin === undefined ? "</dev/null" : `<<< ${shellWord(options.stdin)}`;
  const out = await new Deno.Command("bash", {
    args: ["-c", `{ ${script}\n} ${feed}`],
    cwd: options.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LC_ALL: "C", TZ: "UTC" },
  }).output();
  return {
    code: out.code,
    stdout: decodeByteString(out.stdout),
    stderr: decodeByteString(out.stderr),
  };
}

/** Runs a script that must succeed; its stdout. */
export async function must(script: string, cwd?: string): Promise<string> {
  const r = await bash(script, cwd === undefined ? {} : { cwd });
  assert.equal(r.code, 0, `${script}\n${r.stderr}`);
  return r.stdout;
}

/** `nfs4 ...args` with exact bytes (umask 022), stdin as given. */
export function nfs4(args: readonly string[], stdin?: string): Promise<Run> {
  const words = args.map(shellWord).join(" ");
  return bash(
    `umask 022 && ${shellWord(Deno.execPath())} run -A cli/main.ts ${words}`,
    stdin === undefined ? {} : { stdin },
  );
}

/**
 * `nfs4 ...args | head -c1`: nfs4's exit status and stderr once the reader
 * of its stdout has gone after one byte (every later write meets EPIPE).
 */
export function nfs4IntoHead(args: readonly string[]): Promise<Run> {
  const words = args.map(shellWord).join(" ");
  return bash(
    `umask 022 && ${
      shellWord(Deno.execPath())
    } run -A cli/main.ts ${words} | head -c1 >/dev/null; exit "\${PIPESTATUS[0]}"`,
  );
}

/**
 * Gives every entry under the working directory its own time, deepest
 * first (a bash fragment for setup scripts): mtime and atime
 * `1000000000 + 997·i` seconds and a fraction, so a move that does not keep
 * a time shows.
 */
export const STAMP_TIMES =
  `find . | LC_ALL=C sort -r | { i=0; while IFS= read -r p; do i=$((i+1)); ` +
  `touch -h -d @$((1000000000 + i * 997)).$((i * 12345)) "$p"; done; }`;

/** One entry as `find -printf` shows it. */
export interface Entry {
  readonly type: string;
  readonly mode: string;
  readonly owner: string;
  readonly links: string;
  /** `NOW` when changed by the run (the last ten minutes). */
  readonly mtime: string;
  readonly atime: string;
  readonly target: string;
  readonly size: string;
}

/** Every entry under `dir` (itself as `.`), by path. */
export async function listing(dir: string): Promise<Map<string, Entry>> {
  const out = await must(
    `cd ${shellWord(dir)} && find . -printf '%p\\t%y\\t%m\\t%u:%g\\t%n\\t%T@\\t%A@\\t%l\\t%s\\n'`,
  );
  const recent = Date.now() / 1000 - 600;
  const time = (t: string) => Number(t) > recent ? "NOW" : t;
  const map = new Map<string, Entry>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [path, type, mode, owner, links, mtime, atime, target, size] = line.split("\t");
    map.set(path!, {
      type: type!,
      mode: mode!,
      owner: owner!,
      links: links!,
      mtime: time(mtime!),
      atime: time(atime!),
      target: target!,
      // A directory's size is the file system's business.
      size: type === "d" ? "-" : size!,
    });
  }
  return map;
}

/**
 * Asserts two listings hold the same entries with the same type, mode,
 * owner, links, size, symlink target and mtime, and the same atime for
 * files (a directory's moves whenever `find` lists it). `symlinkTimes`
 * false leaves symlink times aside (a server that does not set them).
 */
export function assertSameListing(
  actual: Map<string, Entry>,
  expected: Map<string, Entry>,
  options: { symlinkTimes?: boolean; what?: string } = {},
): void {
  const what = options.what ? `${options.what}: ` : "";
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}entries`);
  for (const [path, want] of expected) {
    const got = actual.get(path)!;
    const strip = (e: Entry) => ({
      ...e,
      atime: e.type === "f" ? e.atime : "-",
      mtime: e.type === "l" && options.symlinkTimes === false ? "-" : e.mtime,
    });
    assert.deepEqual(strip(got), strip(want), `${what}${path}`);
  }
}

/**
 * An argument list for a command: each `@path` becomes `resolve(path)` (a
 * path below a case's directory: relative for coreutils, a URL for nfs4),
 * anything else is passed as it is.
 */
export function argsFor(args: readonly string[], resolve: (path: string) => string): string[] {
  return args.map((arg) => (arg.startsWith("@") ? resolve(arg.slice(1)) : arg));
}

/** The URL of `path` below the URL `base`, each name percent-encoded. */
export function urlBelow(base: string, path: string): string {
  if (path === "") return base;
  const trailing = path.endsWith("/") ? "/" : "";
  const names = path.split("/").filter((n) => n !== "").map(encodeComponent);
  return `${base}/${names.join("/")}${trailing}`;
}

/** `text` with each `from` replaced by `to` (longest first). */
export function mapNames(text: string, pairs: readonly (readonly [string, string])[]): string {
  const sorted = [...pairs].sort((a, b) => b[0].length - a[0].length);
  let out = text;
  for (const [from, to] of sorted) out = out.split(from).join(to);
  return out;
}

/** Runs `tasks` with at most `limit` at once. */
export async function inBatches<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One row of a table run with coreutils and with nfs4 on two copies of one tree. */
export interface CoreutilsCase {
  readonly name: string;
  /** Run in the case's directory (both copies), before the times are stamped. */
  readonly setup: string;
  /** `@path` operands below the case's directory; other words as they are. */
  readonly args: readonly string[];
  readonly stdin?: string;
  /** Exit status of both (default 0). */
  readonly code?: number;
  /**
   * nfs4's stderr with the case's URL prefix taken out; default: empty.
   * `"prompt"`: the same as coreutils' with `CMD:` as `nfs4:`.
   */
  readonly stderr?: RegExp | "prompt";
  /** Skip the -v comparison (names coreutils quotes as bytes, nfs4 as %XX). */
  readonly noStdout?: boolean;
}

/**
 * Runs `c` as coreutils `command` in `ref` and as `nfs4 --vers VERS
 * command` with URLs below `base` (the export's `ours`), both trees made by
 * its setup first; asserts the same exit status, `-v` output, messages (as
 * the case says) and trees afterwards. `where` names the case in failures.
 */
export async function compareCase(
  command: "mv" | "ln",
  c: CoreutilsCase,
  dirs: {
    readonly ref: string;
    readonly ours: string;
    readonly base: string;
    readonly vers: string;
  },
): Promise<void> {
  const { ref, ours, base, vers } = dirs;
  for (const dir of [ref, ours]) {
    await must(
      `mkdir ${shellWord(dir)} && cd ${shellWord(dir)} && ${c.setup || "true"}; ${STAMP_TIMES}`,
    );
  }
  const words = argsFor(c.args, (p) => p).map(shellWord).join(" ");
  const want = await bash(`${command} ${words}`, {
    cwd: ref,
    ...(c.stdin ? { stdin: c.stdin } : {}),
  });
  const got = await nfs4(
    ["--vers", vers, command, ...argsFor(c.args, (p) => urlBelow(base, p))],
    c.stdin,
  );
  const where = `${c.name} (--vers ${vers})`;
  const shown = (text: string) => mapNames(text, [[`${base}/`, ""]]);
  assert.equal(want.code, c.code ?? 0, `${where}: coreutils exits ${want.code}: ${want.stderr}`);
  assert.equal(got.code, c.code ?? 0, `${where}: nfs4 exits ${got.code}: ${got.stderr}`);
  if (!c.noStdout) assert.equal(shown(got.stdout), want.stdout, `${where}: -v output`);
  const stderr = shown(got.stderr);
  if (c.stderr === "prompt") {
    assert.equal(stderr, want.stderr.replaceAll(`${command}: `, "nfs4: "), `${where}: prompt`);
  } else if (c.stderr) {
    assert.match(stderr, c.stderr, `${where}: message`);
    assert.notEqual(want.stderr, "", `${where}: coreutils says something too`);
  } else {
    assert.equal(stderr, "", `${where}: no message`);
    assert.equal(want.stderr, "", `${where}: coreutils says nothing`);
  }
  assertSameListing(await listing(ours), await listing(ref), { what: where });
}
