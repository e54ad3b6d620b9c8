/**
 * nfs4 shell's word splitting (POSIX XCU §2.2 quoting, §2.3 tokens, no
 * expansions) and the rewriting of a verb's path words into URLs.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { quoteWord, splitCommands, wordsBeingTyped } from "../../cli/shell_words.ts";
import { type OptionShape, resolvePath, rewritePaths, urlOfWord } from "../../cli/shell_paths.ts";
import type { CliContext } from "../../cli/context.ts";
import { createRootCommand, type RootCommand } from "../../cli/globals.ts";
import { registerLn } from "../../cli/ln.ts";
import { registerMv } from "../../cli/mv.ts";
import { registerTouch } from "../../cli/touch.ts";
import { UsageError } from "../../lib/client/url.ts";

Deno.test("splitCommands() splits on blanks, ; and newlines, and honours quotes", () => {
  const cases: [string, string[][]][] = [
    ["ls", [["ls"]]],
    ["  ls   -l  a ", [["ls", "-l", "a"]]],
    ["cd a; ls -l", [["cd", "a"], ["ls", "-l"]]],
    ["cd a;ls", [["cd", "a"], ["ls"]]],
    ["a\nb c", [["a"], ["b", "c"]]],
    [`put 'my file' "x y"`, [["put", "my file", "x y"]]],
    [`echo 'a;b' "c;d" e\\;f`, [["echo", "a;b", "c;d", "e;f"]]],
    [`say "a \\"q\\" \\\\ \\x"`, [["say", `a "q" \\ \\x`]]],
    [`it's\\ fine`, []], // an open quote: see below
    ["ls # a comment; rm x", [["ls"]]],
    ["ls a#b", [["ls", "a#b"]]],
    ["x ''", [["x", ""]]],
    [";;  ; ", []],
    ["a\\\nb", [["ab"]]],
  ];
  for (const [line, expected] of cases) {
    if (line.includes("it's")) {
      assert.throws(() => splitCommands(line), UsageError);
      continue;
    }
    assert.deepEqual(splitCommands(line), expected, line);
  }
  assert.throws(() => splitCommands(`cat "open`), /unterminated double quote/);
});

Deno.test("quoteWord() gives back the word through splitCommands(), whatever it holds", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 0, maxLength: 20 }), (word) => {
      assert.deepEqual(splitCommands(`x ${quoteWord(word)}`), [["x", word]]);
    }),
    { numRuns: 500 },
  );
  assert.equal(quoteWord("plain/path.txt"), "plain/path.txt");
  assert.equal(quoteWord("a b"), "'a b'");
  assert.equal(quoteWord("it's"), `'it'\\''s'`);
});

Deno.test("wordsBeingTyped() gives the last command's words with their places, open quotes allowed", () => {
  assert.deepEqual(wordsBeingTyped("cd a; ls di").map((w) => w.text), ["ls", "di"]);
  assert.deepEqual(wordsBeingTyped("ls ").map((w) => w.text), ["ls", ""]);
  assert.deepEqual(wordsBeingTyped("").map((w) => w.text), [""]);
  const open = wordsBeingTyped(`get 'my fi`);
  assert.deepEqual(open.map((w) => w.text), ["get", "my fi"]);
  assert.equal(open[1]!.start, 4);
});

Deno.test("resolvePath() and urlOfWord(): relative to the current directory, names encoded", () => {
  assert.equal(resolvePath("/vfs/a", "b/c"), "/vfs/a/b/c");
  assert.equal(resolvePath("/vfs/a", "../b"), "/vfs/b");
  assert.equal(resolvePath("/vfs/a", "/mem"), "/mem");
  assert.equal(resolvePath("/vfs", "../../.."), "/");
  assert.equal(resolvePath("/vfs", "."), "/vfs");
  const server = { host: "127.0.0.1", port: 2050 };
  assert.equal(urlOfWord(server, "/vfs", "a b"), "nfs://127.0.0.1:2050/vfs/a%20b");
  // A % in a name is that name's %, never an escape.
  assert.equal(urlOfWord(server, "/vfs", "100%41"), "nfs://127.0.0.1:2050/vfs/100%2541");
  assert.equal(urlOfWord(server, "/vfs", "dir/"), "nfs://127.0.0.1:2050/vfs/dir/");
  assert.equal(urlOfWord(server, "/", "."), "nfs://127.0.0.1:2050/");
  assert.equal(urlOfWord(server, "/vfs", "nfs://other/x"), "nfs://other/x");
  assert.equal(urlOfWord({ host: "::1", port: 2049 }, "/vfs", "x"), "nfs://[::1]:2049/vfs/x");
});

Deno.test("rewritePaths() makes the path words of each verb URLs and leaves the rest", () => {
  const url = (w: string) => `U(${w})`;
  const opt = (short: string | undefined, long: string | undefined, required = false) => ({
    short,
    long,
    required,
    optional: false,
  });
  const head = [opt("-n", "--lines", true), opt("-c", "--bytes", true), opt("-q", "--quiet")];
  assert.deepEqual(rewritePaths("head", ["-n", "5", "a", "b"], head, url), [
    "-n",
    "5",
    "U(a)",
    "U(b)",
  ]);
  assert.deepEqual(rewritePaths("head", ["-qn5", "a"], head, url), ["-qn5", "U(a)"]);
  assert.deepEqual(rewritePaths("head", ["--lines=5", "a"], head, url), ["--lines=5", "U(a)"]);
  assert.deepEqual(rewritePaths("cat", ["--", "-x"], [], url), ["--", "U(-x)"]);
  assert.deepEqual(rewritePaths("chmod", ["-R", "u+x", "d"], [opt("-R", "--recursive")], url), [
    "-R",
    "u+x",
    "U(d)",
  ]);
  assert.deepEqual(rewritePaths("chown", ["0:0", "a", "b"], [], url), ["0:0", "U(a)", "U(b)"]);
  assert.deepEqual(
    rewritePaths("chmod", ["--reference=r", "a"], [opt(undefined, "--reference", true)], url),
    ["--reference=U(r)", "U(a)"],
  );
  const ln = [opt("-s", "--symbolic"), opt("-f", "--force"), opt("-t", "--target-directory", true)];
  assert.deepEqual(rewritePaths("ln", ["-s", "../t", "l"], ln, url), ["-s", "../t", "U(l)"]);
  assert.deepEqual(rewritePaths("ln", ["-sf", "t"], ln, url), ["-sf", "t", "U(./)"]);
  assert.deepEqual(rewritePaths("ln", ["a", "b"], ln, url), ["U(a)", "U(b)"]);
  assert.deepEqual(
    rewritePaths("find", ["d", "-name", "*.txt", "-newer", "ref", "-print"], [], url),
    ["U(d)", "-name", "*.txt", "-newer", "U(ref)", "-print"],
  );
  assert.deepEqual(rewritePaths("find", ["-type", "f"], [], url), ["U(.)", "-type", "f"]);
  assert.deepEqual(rewritePaths("ls", ["-l"], [opt("-l", undefined)], url), ["-l", "U(.)"]);
  assert.deepEqual(
    rewritePaths("touch", ["-r", "ref", "a"], [opt("-r", "--reference", true)], url),
    [
      "-r",
      "U(ref)",
      "U(a)",
    ],
  );
});

/** A program with `verb` registered as nfs4 defines it (nothing is run). */
function programWith(register: (program: RootCommand, ctx: CliContext) => void): RootCommand {
  const program = createRootCommand();
  register(program, undefined as unknown as CliContext);
  return program;
}

/** The option shapes the shell reads for `verb` (its own, then the global ones). */
function shapesOf(register: (program: RootCommand, ctx: CliContext) => void): OptionShape[] {
  const program = programWith(register);
  const shape = (o: { short?: string; long?: string; required: boolean; optional: boolean }) => ({
    short: o.short,
    long: o.long,
    required: o.required,
    optional: o.optional,
  });
  return [...program.commands[0]!.options.map(shape), ...program.options.map(shape)];
}

/** How the real `nfs4 ln` reads `words`: its operands, -t DIR, -s and -T. */
function lnReads(words: readonly string[]) {
  const command = programWith(registerLn).commands[0]!;
  const { operands, unknown } = command.parseOptions([...words]);
  assert.deepEqual(unknown, [], words.join(" "));
  const opts = command.opts() as Record<string, unknown>;
  return {
    operands,
    targetDirectory: opts.targetDirectory,
    symbolic: opts.symbolic === true,
    noTargetDirectory: opts.targetDirectory === false,
  };
}

Deno.test("rewritePaths() reads ln's -t DIR, -T and -s in every form nfs4 ln takes them", () => {
  const url = (w: string) => `U(${w})`;
  const ln = shapesOf(registerLn);
  const cases: [string[], string[]][] = [
    // Hard links into -t DIR: DIR and every target are paths, nothing added.
    [["-t", "dir", "f"], ["-t", "U(dir)", "U(f)"]],
    [["-tdir", "f", "g"], ["-tU(dir)", "U(f)", "U(g)"]],
    [["--target-directory=dir", "f"], ["--target-directory=U(dir)", "U(f)"]],
    [["--target-directory", "dir", "f"], ["--target-directory", "U(dir)", "U(f)"]],
    [["f", "-t", "dir"], ["U(f)", "-t", "U(dir)"]],
    [["-ft", "dir", "f"], ["-ft", "U(dir)", "U(f)"]],
    // -ts: s is -t's value, not -s.
    [["-ts", "f"], ["-tU(s)", "U(f)"]],
    // Symbolic links into -t DIR: the targets are texts, as typed.
    [["-s", "-t", "dir", "a"], ["-s", "-t", "U(dir)", "a"]],
    [["-s", "-t", "dir", "a", "b"], ["-s", "-t", "U(dir)", "a", "b"]],
    [["-st", "dir", "a"], ["-st", "U(dir)", "a"]],
    [["-sft", "dir", "a", "b"], ["-sft", "U(dir)", "a", "b"]],
    [["-sftdir", "a"], ["-sftU(dir)", "a"]],
    [["-stdir", "../a"], ["-stU(dir)", "../a"]],
    [["--symbolic", "--target-directory=dir", "a"], [
      "--symbolic",
      "--target-directory=U(dir)",
      "a",
    ]],
    [["--target-directory=dir", "-s", "a"], ["--target-directory=U(dir)", "-s", "a"]],
    [["a", "b", "-st", "dir"], ["a", "b", "-st", "U(dir)"]],
    // Without -t: the last operand is the link name (or the directory); one
    // operand links into the current directory, except with -T.
    [["-s", "a", "l"], ["-s", "a", "U(l)"]],
    [["-sfn", "a"], ["-sfn", "a", "U(./)"]],
    [["a"], ["U(a)", "U(./)"]],
    [["-T", "a", "l"], ["-T", "U(a)", "U(l)"]],
    [["-sT", "a", "l"], ["-sT", "a", "U(l)"]],
    [["--no-target-directory", "-s", "a", "l"], ["--no-target-directory", "-s", "a", "U(l)"]],
    [["-T", "a"], ["-T", "U(a)"]],
    [["-sT", "a"], ["-sT", "a"]],
    // After --, -t is a target's text.
    [["-s", "--", "-t", "l"], ["-s", "--", "-t", "U(l)"]],
  ];
  for (const [words, expected] of cases) {
    const rewritten = rewritePaths("ln", words, ln, url);
    assert.deepEqual(rewritten, expected, words.join(" "));
    // nfs4 ln reads the rewritten words as it reads the typed ones, with
    // URLs where it wants them (./ added when the link goes here).
    const typed = lnReads(words);
    const run = lnReads(rewritten);
    assert.equal(run.symbolic, typed.symbolic, words.join(" "));
    assert.equal(run.noTargetDirectory, typed.noTargetDirectory, words.join(" "));
    const dir = typed.targetDirectory;
    assert.equal(run.targetDirectory, typeof dir === "string" ? url(dir) : dir, words.join(" "));
    const here = typed.operands.length === 1 && dir === undefined ? [url("./")] : [];
    assert.deepEqual(
      run.operands,
      [
        ...typed.operands.map((w, i) => {
          const isLinkName = typeof dir !== "string" && typed.operands.length > 1 &&
            i === typed.operands.length - 1;
          return typed.symbolic && !isLinkName ? w : url(w);
        }),
        ...here,
      ],
      words.join(" "),
    );
  }
});

Deno.test("rewritePaths() makes mv's -t DIR and touch's -r REF URLs, attached or not", () => {
  const url = (w: string) => `U(${w})`;
  const mv = shapesOf(registerMv);
  assert.deepEqual(rewritePaths("mv", ["-t", "dir", "a", "b"], mv, url), [
    "-t",
    "U(dir)",
    "U(a)",
    "U(b)",
  ]);
  assert.deepEqual(rewritePaths("mv", ["-tdir", "a"], mv, url), ["-tU(dir)", "U(a)"]);
  assert.deepEqual(rewritePaths("mv", ["-vtdir", "a"], mv, url), ["-vtU(dir)", "U(a)"]);
  assert.deepEqual(rewritePaths("mv", ["-vt", "dir", "a"], mv, url), ["-vt", "U(dir)", "U(a)"]);
  assert.deepEqual(rewritePaths("mv", ["--target-directory=dir", "a"], mv, url), [
    "--target-directory=U(dir)",
    "U(a)",
  ]);
  assert.deepEqual(rewritePaths("mv", ["-T", "a", "b"], mv, url), ["-T", "U(a)", "U(b)"]);
  const touch = shapesOf(registerTouch);
  assert.deepEqual(rewritePaths("touch", ["-rref", "a"], touch, url), ["-rU(ref)", "U(a)"]);
  // touch -t is a time, not a directory.
  assert.deepEqual(rewritePaths("touch", ["-t", "202401011200", "a"], touch, url), [
    "-t",
    "202401011200",
    "U(a)",
  ]);
  assert.deepEqual(rewritePaths("touch", ["-t202401011200", "a"], touch, url), [
    "-t202401011200",
    "U(a)",
  ]);
});
