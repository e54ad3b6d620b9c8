/**
 * Tab completion in `nfs4 shell` goes on in the quoting the word was begun
 * in, as bash's does: inside an open double quote `cat "my fi<TAB>` gives
 * `cat "my file" ` (the quote closed after the only match, a file) or
 * leaves `cat "dir one/` open (a directory); inside single quotes the same
 * with `'`; after backslash-escaped spaces `cat my\ fi<TAB>` gives
 * `cat my\ file `. Before, every candidate was the whole name quoted anew
 * in single quotes, which readline put in place of what was typed: `"my fi`
 * with two matches became `'my fi`, and the `le"` typed next made an
 * unterminated quote. A word typed plainly is still quoted whole (`'my
 * file'`).
 */

import assert from "node:assert/strict";
import type { Nfs4ClientApi } from "../../lib/client/api.ts";
import { completeLine } from "../../cli/shell_complete.ts";
import { splitCommands } from "../../cli/shell_words.ts";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { hasScript, onTerminal } from "./_pty.ts";

const NAMES: readonly (readonly [string, string])[] = [
  ["my file", "file"],
  ["my fiction", "file"],
  ["only one.txt", "file"],
  ["dir one", "directory"],
  [`it's "q" $x \\ y`, "file"],
];

let listings = 0;

/** A shell whose current directory (a fresh one each time: listings are kept 2 s) lists NAMES. */
function shellListing() {
  const cwd = `/quotes-test-${listings++}`;
  const client = {
    async *readdir(path: string) {
      assert.equal(path, cwd);
      for (const [name, kind] of NAMES) yield { path: `${path}/${name}`, name, kind };
    },
  } as unknown as Nfs4ClientApi;
  return { client, cwd, optionsOf: () => [] };
}

/** The line as readline leaves it with one candidate: what was typed of the word, replaced. */
async function completed(line: string): Promise<{ candidates: string[]; line?: string }> {
  const [candidates, typed] = await completeLine(shellListing(), line);
  assert.ok(line.endsWith(typed), `${line} | ${typed}`);
  if (candidates.length !== 1) return { candidates };
  return { candidates, line: line.slice(0, line.length - typed.length) + candidates[0] };
}

Deno.test("completeLine() goes on inside an open double quote, closing it after a file", async () => {
  const one = await completed(`cat "only o`);
  assert.equal(one.line, `cat "only one.txt" `);
  assert.deepEqual(splitCommands(one.line!), [["cat", "only one.txt"]]);
  // Several: each as typed so far, so the common part changes nothing.
  const two = await completed(`cat "my fi`);
  assert.deepEqual(two.candidates, [`"my fiction`, `"my file`]);
  // A directory leaves the quote open, for more.
  assert.equal((await completed(`cat "dir o`)).line, `cat "dir one/`);
  // ", $, ` and \ take a backslash inside double quotes.
  const odd = await completed(`cat "it`);
  assert.equal(odd.line, `cat "it's \\"q\\" \\$x \\\\ y" `);
  assert.deepEqual(splitCommands(odd.line!), [["cat", `it's "q" $x \\ y`]]);
});

Deno.test("completeLine() goes on inside single quotes and after backslashes", async () => {
  assert.equal((await completed(`cat 'only o`)).line, `cat 'only one.txt' `);
  assert.deepEqual((await completed(`cat 'my fi`)).candidates, [`'my fiction`, `'my file`]);
  const odd = await completed(`cat 'it`);
  assert.equal(odd.line, `cat 'it'\\''s "q" $x \\ y' `);
  assert.deepEqual(splitCommands(odd.line!), [["cat", `it's "q" $x \\ y`]]);

  assert.equal((await completed(`cat only\\ o`)).line, `cat only\\ one.txt `);
  assert.deepEqual((await completed(`cat my\\ fi`)).candidates, [`my\\ fiction`, `my\\ file`]);
  const escaped = await completed(`cat it\\'`);
  assert.deepEqual(splitCommands(escaped.line!), [["cat", `it's "q" $x \\ y`]]);
  assert.equal((await completed(`get dir\\ o`)).line, `get dir\\ one/`);

  // A word typed plainly is quoted whole, as before.
  assert.equal((await completed(`cat on`)).line, `cat 'only one.txt' `);
  assert.equal((await completed(`cat it`)).line, `cat 'it'\\''s "q" $x \\ y' `);
});

serverTest(
  "nfs4 shell on a terminal: Tab inside an open double quote completes, keeping the quote",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/my file`, "mine\n");
    await Deno.writeTextFile(`${server.exportDir}/my fiction`, "story\n");
    const home = await tempDir("nfs4-shell-quotes-");
    try {
      const { code, text } = await onTerminal(
        ["--vers", "4.1", "shell", `${server.url}/vfs`],
        [
          ["", 2500],
          // Two matches: nothing to add yet; the rest typed by hand.
          [`cat "my fi\t`, 800],
          [`le"\r`, 800],
          // One match: completed and the quote closed.
          [`cat "my fic\t`, 800],
          ["\r", 800],
          ["exit\r", 500],
        ],
        { XDG_STATE_HOME: home },
      );
      assert.match(text, /> cat "my file"\nmine\n/, text);
      assert.match(text, /> cat "my fiction" \nstory\n/, text);
      assert.doesNotMatch(text, /unterminated/, text);
      assert.equal(code, 0, text);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
  { ignore: !hasScript },
);
