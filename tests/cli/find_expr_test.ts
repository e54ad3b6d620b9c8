/**
 * `nfs4 find`'s expression (cli/find_expr.ts) and glob matcher
 * (cli/find_glob.ts), without a server: precedence, usage errors, the
 * evaluation of each primary (findutils' size and time rules), and fnmatch
 * compared with the C library's own on generated patterns.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  describeExpr,
  evaluate,
  type FindActions,
  type FindFile,
  parseFindArgs,
  startsExpression,
} from "../../cli/find_expr.ts";
import { compileGlob } from "../../cli/find_glob.ts";
import { decodeByteString, encodeByteString } from "../../lib/client/names.ts";
import type { FileKind } from "../../lib/client/types.ts";
import { UsageError } from "../../lib/client/url.ts";
import { dir, file, runFake } from "./_fake.ts";

const NOW = 1_700_000_000_000_000_000n; // ns
const SECOND = 1_000_000_000n;
const DAY = 86400n * SECOND;
const U = "nfs://h/vfs";

function parse(...expr: string[]) {
  return parseFindArgs([U, ...expr], { now: NOW });
}

// ------------------------------------------------------------- parsing

Deno.test("parseFindArgs() precedence: ! over -a (also implied) over -o over ','; the default -print wraps the whole", () => {
  const table: [string[], string][] = [
    [[], "(-true -a -print)"],
    [["-name", "a"], "(-name a -a -print)"],
    [["-name", "a", "-type", "f"], "((-name a -a -type f) -a -print)"],
    [
      ["-name", "a", "-o", "-name", "b", "-type", "d"],
      "((-name a -o (-name b -a -type d)) -a -print)",
    ],
    [
      ["-name", "a", "-a", "-name", "b", "-o", "-name", "c"],
      "(((-name a -a -name b) -o -name c) -a -print)",
    ],
    [["!", "-name", "a", "-name", "b"], "((! -name a -a -name b) -a -print)"],
    [["-not", "(", "-name", "a", "-or", "-name", "b", ")"], "(! (-name a -o -name b) -a -print)"],
    [["!", "!", "-empty"], "(! ! -empty -a -print)"],
    [
      ["-name", "a", ",", "-name", "b", "-o", "-name", "c"],
      "((-name a , (-name b -o -name c)) -a -print)",
    ],
    [["(", "(", "-true", ")", ")"], "(-true -a -print)"],
    [["-name", "a", "-and", "-type", "f"], "((-name a -a -type f) -a -print)"],
  ];
  for (const [expr, want] of table) {
    assert.equal(describeExpr(parse(...expr).expr), want, expr.join(" "));
  }
});

Deno.test("parseFindArgs() an action removes the default -print; -prune and -quit do not", () => {
  const table: [string[], string][] = [
    [["-print"], "-print"],
    [["-name", "a", "-print0"], "(-name a -a -print0)"],
    [["-name", "a", "-o", "-print"], "(-name a -o -print)"],
    [["-delete"], "-delete"],
    [["-prune"], "(-prune -a -print)"],
    [["-name", "x", "-quit"], "((-name x -a -quit) -a -print)"],
    [
      ["-type", "d", "-name", ".git", "-prune", "-o", "-print"],
      "(((-type d -a -name .git) -a -prune) -o -print)",
    ],
  ];
  for (const [expr, want] of table) {
    assert.equal(describeExpr(parse(...expr).expr), want, expr.join(" "));
  }
});

Deno.test("parseFindArgs() starting points come first; the options are global wherever they stand", () => {
  const cmd = parseFindArgs(
    ["nfs://a/x", "nfs://b/y", "-name", "z", "-maxdepth", "3", "-mindepth", "1"],
    { now: NOW },
  );
  assert.deepEqual(cmd.starts, ["nfs://a/x", "nfs://b/y"]);
  assert.equal(cmd.maxDepth, 3);
  assert.equal(cmd.minDepth, 1);
  assert.equal(cmd.depthFirst, false);
  assert.equal(parse("-depth").depthFirst, true);
  const deleting = parse("-name", "*.o", "-delete");
  assert.ok(deleting.deletes && deleting.depthFirst);
  assert.deepEqual(parse("-newer", "nfs://h/r", "-o", "-newer", "nfs://h/r").references, [
    "nfs://h/r",
  ]);
  // What starts an expression, as findutils decides it.
  for (const arg of ["-name", "!", "(", ")", ","]) assert.ok(startsExpression(arg), arg);
  for (const arg of ["-", "nfs://h/-x", "x"]) assert.ok(!startsExpression(arg), arg);
});

Deno.test("parseFindArgs() rejects malformed expressions with a usage error that says what is wrong", () => {
  const table: [string[], RegExp][] = [
    [[], /missing starting URL/],
    [["-name"], /missing argument to '-name'/],
    [["-foo"], /unknown predicate '-foo'/],
    [["-o", "-name", "a"], /binary operator '-o' has nothing before it/],
    [["-name", "a", "-o"], /expected an expression after '-o'/],
    [["-name", "a", "-a"], /expected an expression after '-a'/],
    [["-name", "a", "-o", "-a", "-name", "b"], /'-a' directly after '-o'/],
    [["!"], /expected an expression after '!'/],
    [["!", "-o", "-true"], /expected an expression after '!'/],
    [["(", "-name", "a"], /expected a '\)' after '\('/],
    [["(", ")"], /empty parentheses/],
    [["-name", "a", ")"], /'\)' without a matching '\('/],
    [["-name", "a", "extra"], /paths must precede expression: 'extra'/],
    [["-type", "x"], /unknown argument to -type: 'x'/],
    [["-type", "f,f"], /duplicate file type 'f'/],
    [["-type", "f,"], /a comma needs a type letter/],
    [["-size", "2x"], /invalid -size unit 'x'/],
    [["-size", "abc"], /invalid argument 'abc' to -size/],
    [["-size", "+"], /invalid argument '\+' to -size/],
    [["-mtime", "a"], /invalid argument 'a' to -mtime/],
    [["-mmin", "--1"], /invalid argument '--1' to -mmin/],
    [["-maxdepth", "-1"], /non-negative decimal integer after -maxdepth, but got '-1'/],
    [["-mindepth", "x"], /non-negative decimal integer after -mindepth/],
    [["-prune", "-delete"], /-delete turns on -depth, and -prune does nothing with -depth/],
  ];
  for (const [expr, message] of table) {
    const args = expr.length === 0 ? [] : [U, ...expr];
    assert.throws(
      () => parseFindArgs(args, { now: NOW }),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
      expr.join(" "),
    );
  }
  // With an explicit -depth, -prune and -delete may go together (findutils' rule).
  assert.ok(parse("-depth", "-prune", "-delete").deletes);
});

Deno.test("parseFindArgs() warns about a -name pattern with a '/'", () => {
  assert.match(parse("-name", "a/b").warnings[0]!, /-name matches against names only.*-path/);
  assert.deepEqual(parse("-name", "/").warnings, []);
});

Deno.test("nfs4 find: a bad expression is a usage error (exit 2, one line), before connecting", async () => {
  for (
    const [argv, message] of [
      [["find", "nfs://srv/vfs", "-name"], "nfs4: find: missing argument to '-name'\n"],
      [["find"], "nfs4: find: missing starting URL (nfs4 find URL... [expression])\n"],
      [["find", "nfs://srv/vfs", "-type", "q"], null],
      [["find", "nfs://srv/vfs", "(", "-true"], null],
      [["find", "notaurl", "-true"], null],
    ] as [string[], string | null][]
  ) {
    const r = await runFake(argv, { servers: { "srv:2049": dir({ vfs: dir({}) }) } });
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    if (message !== null) assert.equal(r.stderr, message);
    assert.deepEqual(r.log.calls, [], "nothing sent");
  }
});

Deno.test("nfs4 find: the expression reaches the command in order, negative numbers and ! included", async () => {
  const now = new Date(Number(NOW / 1_000_000n));
  const servers = {
    "srv:2049": dir({
      vfs: dir({
        old: file("x", { mtime: new Date(now.getTime() - 3 * 86400_000) }),
        new: file("yy", { mtime: new Date(now.getTime() - 3600_000) }),
      }),
    }),
  };
  const r = await runFake(
    ["--vers", "4.1", "find", "nfs://srv/vfs", "!", "-mtime", "-1", "-type", "f", "--timeout", "5"],
    { servers, now },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "nfs://srv/vfs/old\n");
  assert.equal(r.log.globals?.vers, "4.1");
  assert.equal(r.log.globals?.timeoutSeconds, 5);
});

// ----------------------------------------------------------- evaluating

interface Probe {
  name?: string;
  path?: string;
  kind?: FileKind;
  size?: bigint;
  mtime?: bigint;
  empty?: boolean;
}

function fileOf(probe: Probe): FindFile {
  return {
    name: encodeByteString(probe.name ?? "x"),
    path: () => encodeByteString(probe.path ?? `${U}/${probe.name ?? "x"}`),
    kind: probe.kind ?? "file",
    size: probe.size ?? 0n,
    mtimeNs: probe.mtime,
  };
}

/** Evaluates `expr` on `probe`, recording what the actions were asked. */
async function run(expr: string[], probe: Probe, references: Record<string, bigint> = {}) {
  const cmd = parse(...expr);
  const log: string[] = [];
  const actions: FindActions = {
    print: (_file, terminator) => {
      log.push(terminator === "\0" ? "print0" : "print");
      return Promise.resolve();
    },
    delete: () => {
      log.push("delete");
      return Promise.resolve(true);
    },
    isEmptyDirectory: () => {
      log.push("readdir");
      return Promise.resolve(probe.empty ?? false);
    },
    prune: () => log.push("prune"),
    referenceTime: (reference) => references[reference],
  };
  const result = await evaluate(cmd.expr, fileOf(probe), actions);
  return { ...result, log };
}

async function matches(expr: string[], probe: Probe): Promise<boolean> {
  return (await run([...expr, "-print"], probe)).matched;
}

Deno.test("evaluate() -size rounds up to whole units, as findutils", async () => {
  const table: [string, bigint, boolean][] = [
    ["-1M", 0n, true],
    ["-1M", 1n, false], // 1 byte is 1 MiB rounded up
    ["1M", 1n, true],
    ["1M", 1048576n, true],
    ["1M", 1048577n, false],
    ["+1M", 1048577n, true],
    ["1", 1n, true], // 512-byte blocks by default
    ["1", 512n, true],
    ["2", 513n, true],
    ["0", 0n, true],
    ["-1", 0n, true],
    ["513c", 513n, true],
    ["+512c", 513n, true],
    ["-513c", 513n, false],
    ["2w", 3n, true],
    ["1k", 1024n, true],
    ["+1k", 1025n, true],
    ["1G", 5n, true],
  ];
  for (const [arg, size, want] of table) {
    assert.equal(await matches(["-size", arg], { size }), want, `-size ${arg} on ${size}`);
  }
});

Deno.test("evaluate() -mtime and -mmin: findutils' windows from the start of the command", async () => {
  const ago = (seconds: number) => NOW - BigInt(Math.round(seconds * 1e9));
  const day = 86400;
  const table: [string, string, number, boolean][] = [
    // -mtime N: the age in whole days (rounded down) is N.
    ["-mtime", "0", 0.5 * day, true],
    ["-mtime", "0", day - 0.001, true],
    ["-mtime", "0", day, false],
    ["-mtime", "1", day, true],
    ["-mtime", "1", 1.99 * day, true],
    ["-mtime", "1", 2 * day, false],
    ["-mtime", "0", -60, false], // the future
    // +N: more than N+1 days old.
    ["-mtime", "+0", day, false],
    ["-mtime", "+0", day + 0.001, true],
    ["-mtime", "+1", 2.5 * day, true],
    ["-mtime", "+1", 1.5 * day, false],
    // -N: less than N days and one second.
    ["-mtime", "-1", day, true],
    ["-mtime", "-1", day + 0.999, true],
    ["-mtime", "-1", day + 1, false],
    ["-mtime", "-1", -day, true],
    ["-mtime", "1.5", 2 * day, true],
    ["-mtime", "1.5", 1.49 * day, false],
    // -mmin N: the age in minutes rounded up is N.
    ["-mmin", "60", 59.5 * 60, true],
    ["-mmin", "60", 60 * 60, false],
    ["-mmin", "60", 59 * 60, true],
    ["-mmin", "60", 58.9 * 60, false],
    ["-mmin", "-60", 3599, true],
    ["-mmin", "-60", 3600, false],
    ["-mmin", "+60", 3600, false],
    ["-mmin", "+60", 3600.001, true],
  ];
  for (const [test, arg, age, want] of table) {
    assert.equal(
      await matches([test, arg], { mtime: ago(age) }),
      want,
      `${test} ${arg} on ${age} s`,
    );
  }
  assert.equal(await matches(["-mtime", "0"], {}), false, "no mtime: false");
});

Deno.test("evaluate() -newer compares with the reference's mtime to the nanosecond", async () => {
  const refs = { "nfs://h/ref": 5n * DAY + 7n };
  const newer = async (mtime: bigint) =>
    (await run(["-newer", "nfs://h/ref", "-print"], { mtime }, refs)).matched;
  assert.equal(await newer(5n * DAY + 8n), true);
  assert.equal(await newer(5n * DAY + 7n), false);
  assert.equal(await newer(5n * DAY + 6n), false);
});

Deno.test("evaluate() -type, -empty, -true, -false", async () => {
  assert.equal(await matches(["-type", "f"], { kind: "file" }), true);
  assert.equal(await matches(["-type", "d"], { kind: "file" }), false);
  assert.equal(await matches(["-type", "l,d"], { kind: "symlink" }), true);
  const letters: [string, FileKind][] = [["p", "fifo"], ["s", "socket"], ["b", "block"], [
    "c",
    "char",
  ]];
  for (const [letter, kind] of letters) {
    assert.equal(await matches(["-type", letter], { kind }), true, letter);
  }
  assert.equal(await matches(["-type", "D"], { kind: "file" }), false);
  assert.equal(await matches(["-empty"], { kind: "file", size: 0n }), true);
  assert.equal(await matches(["-empty"], { kind: "file", size: 1n }), false);
  assert.equal(await matches(["-empty"], { kind: "symlink", size: 0n }), false);
  const emptyDir = await run(["-empty"], { kind: "directory", empty: true });
  assert.deepEqual([emptyDir.matched, emptyDir.log], [true, ["readdir", "print"]]);
  assert.equal(await matches(["-empty"], { kind: "directory", empty: false }), false);
  assert.equal(await matches(["-true"], {}), true);
  assert.equal(await matches(["-false"], {}), false);
});

Deno.test("evaluate() short-circuits left to right; ',' evaluates both and gives the right", async () => {
  assert.deepEqual((await run(["-false", "-print"], {})).log, []);
  assert.deepEqual((await run(["-true", "-o", "-print"], {})).log, []);
  assert.deepEqual((await run(["-false", "-o", "-print"], {})).log, ["print"]);
  const comma = await run(["-print0", ",", "-false"], {});
  assert.deepEqual([comma.matched, comma.log], [false, ["print0"]]);
  assert.deepEqual((await run(["!", "-true", "-o", "-print", "-print0"], {})).log, [
    "print",
    "print0",
  ]);
});

Deno.test("evaluate() -quit stops at once, after what came before it", async () => {
  const quit = await run(["-print", "-quit", "-print0"], {});
  assert.deepEqual([quit.quit, quit.log], [true, ["print"]]);
  // With the default -print (quit is no action): nothing printed for a file that reaches -quit.
  const implied = await run(["-name", "x", "-quit"], { name: "x" });
  assert.deepEqual([implied.quit, implied.log], [true, []]);
  assert.equal((await run(["-name", "x", "-quit"], { name: "y" })).quit, false);
});

Deno.test("evaluate() -prune and -delete call their actions", async () => {
  const prune = await run(["-name", "x", "-prune", "-o", "-print"], {
    name: "x",
    kind: "directory",
  });
  assert.deepEqual([prune.matched, prune.log], [true, ["prune"]]);
  const del = await run(["-name", "*.o", "-delete"], { name: "a.o" });
  assert.deepEqual([del.matched, del.log], [true, ["delete"]]);
});

Deno.test("evaluate() -name and -iname match the name's bytes, -path the whole path", async () => {
  const latin1 = decodeByteString(new Uint8Array([0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e]));
  const table: [string[], Probe, boolean][] = [
    [["-name", "*.c"], { name: "main.c" }, true],
    [["-name", "*.c"], { name: "main.h" }, false],
    [["-name", "*.C"], { name: "main.c" }, false],
    [["-iname", "*.C"], { name: "main.c" }, true],
    [["-iname", "MAIN.*"], { name: "main.c" }, true],
    [["-name", ".*"], { name: ".hidden" }, true],
    [["-name", "*"], { name: ".hidden" }, true], // no FNM_PERIOD, as find
    [["-name", "lat?in"], { name: latin1 }, true], // ? is one byte: \xe9
    [["-name", "caf?"], { name: "café" }, false], // é is two bytes in UTF-8
    [["-name", "caf??"], { name: "café" }, true],
    [["-name", "a b"], { name: "a b" }, true],
    [["-name", "%41"], { name: "A" }, false],
    [["-name", "%41"], { name: "%41" }, true],
    [["-name", "\\*"], { name: "*" }, true],
    [["-name", "\\*"], { name: "a" }, false],
    [["-path", "*/sub/*"], { path: `${U}/sub/x` }, true],
    [["-path", "*/sub/*"], { path: `${U}/sub` }, false],
    [["-path", `${U}/*`], { path: `${U}/a/b` }, true], // * matches '/'
    [["-path", "*a b*"], { path: `${U}/a b/c` }, true],
  ];
  for (const [expr, probe, want] of table) {
    assert.equal(
      await matches(expr, probe),
      want,
      `${expr.join(" ")} on ${probe.name ?? probe.path}`,
    );
  }
});

// -------------------------------------------------------------- globbing

function glob(pattern: string, name: string, casefold = false): boolean {
  return compileGlob(encodeByteString(pattern), { casefold })(encodeByteString(name));
}

Deno.test("compileGlob() follows fnmatch(3): sets, ranges, classes, escapes, unclosed brackets", () => {
  const table: [string, string, boolean, boolean?][] = [
    ["", "", true],
    ["", "a", false],
    ["a", "a", true],
    ["?", "", false],
    ["*", "", true],
    ["a*b", "ab", true],
    ["a*b", "axxb", true],
    ["a*b", "axxbx", false],
    ["*a*a*a*", "aaa", true],
    ["*a*a*a*", "aa", false],
    ["[abc]", "b", true],
    ["[abc]", "d", false],
    ["[!abc]", "d", true],
    ["[^abc]", "a", false],
    ["[a-c]", "b", true],
    ["[c-a]", "b", false],
    ["[]]", "]", true],
    ["[!]]", "]", false],
    ["[a-]", "-", true],
    ["[[:digit:]]x", "7x", true],
    ["[[:alpha:][:digit:]]", "_", false],
    ["[[:upper:]]", "a", false],
    ["[[:foo:]]", "f", false], // an unknown class matches nothing
    ["[[=a=]]", "a", true],
    ["[[.-.]]", "-", true],
    ["[\\]]", "]", true],
    ["[a\\-z]", "-", true],
    ["[a\\-z]", "m", false],
    ["\\", "\\", false], // a trailing backslash matches nothing
    ["\\\\", "\\", true],
    ["[ab", "[ab", true], // unclosed: the [ is itself
    ["[ab", "a", false],
    ["*[ab", "x[ab", true],
    ["a/b", "a/b", true],
    ["*", "a/b", true],
    ["[A-Z]", "q", true, true], // the range's ends and the byte are all folded
    ["[a-z]", "Q", true, true],
    ["ABC", "abc", true, true],
    ["[[:lower:]]", "A", false, true],
    ["\u00e9", "\u00c9", false, true], // only ASCII folds
  ];
  for (const [pattern, name, want, casefold] of table) {
    assert.equal(
      glob(pattern, name, casefold),
      want,
      `${JSON.stringify(pattern)} ${casefold ? "casefold " : ""}on ${JSON.stringify(name)}`,
    );
  }
});

Deno.test("compileGlob() has no exponential blow-up on many stars", () => {
  const started = performance.now();
  assert.equal(glob("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(200)), false);
  assert.ok(performance.now() - started < 1000);
});

/** glibc's fnmatch(3) through FFI: the reference (the process's locale is C). */
function libcFnmatch():
  | ((pattern: Uint8Array, name: Uint8Array, casefold: boolean) => boolean)
  | undefined {
  try {
    const lib = Deno.dlopen("libc.so.6", {
      fnmatch: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
    });
    const c = (bytes: Uint8Array) => {
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes);
      return out;
    };
    const FNM_CASEFOLD = 1 << 4;
    return (pattern, name, casefold) =>
      lib.symbols.fnmatch(c(pattern), c(name), casefold ? FNM_CASEFOLD : 0) === 0;
  } catch {
    return undefined;
  }
}

const fnmatch = libcFnmatch();

Deno.test({
  name: "compileGlob() agrees with glibc's fnmatch() on generated patterns and names",
  ignore: fnmatch === undefined,
  fn() {
    const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0));
    const patternToken = fc.oneof(
      fc.integer({ min: 1, max: 255 }).map((b) => [b]),
      fc.constantFrom(
        "[",
        "]",
        "\\",
        "*",
        "?",
        "-",
        "!",
        "^",
        "[:",
        ":]",
        "[=",
        "=]",
        "[.",
        ".]",
        "[:alpha:]",
        "[:digit:]",
        "[:upper:]",
        "[:zz:]",
        "a",
        "A",
        "z",
        "Z",
      ).map(ascii),
    );
    const nameByte = fc.oneof(
      fc.integer({ min: 1, max: 255 }),
      fc.constantFrom(...ascii("aAzZ[]-*?\\!m")),
    );
    fc.assert(
      fc.property(
        fc.array(patternToken, { maxLength: 10 }),
        fc.array(nameByte, { maxLength: 8 }),
        fc.boolean(),
        (tokens, nameBytes, casefold) => {
          const pattern = new Uint8Array(tokens.flat());
          const name = new Uint8Array(nameBytes);
          assert.equal(
            compileGlob(pattern, { casefold })(name),
            fnmatch!(pattern, name, casefold),
            `pattern ${JSON.stringify([...pattern])} name ${JSON.stringify(nameBytes)}`,
          );
        },
      ),
      { numRuns: 20000 },
    );
  },
});
