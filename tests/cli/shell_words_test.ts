/**
 * nfs4 shell's word splitting (POSIX XCU §2.2 quoting, §2.3 tokens, no
 * expansions) and the rewriting of a verb's path words into URLs.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { quoteWord, splitCommands, wordsBeingTyped } from "../../cli/shell_words.ts";
import { resolvePath, rewritePaths, urlOfWord } from "../../cli/shell_paths.ts";
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
  const ln = [opt("-s", "--symbolic"), opt("-f", "--force")];
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
