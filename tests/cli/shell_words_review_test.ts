/**
 * Shell words on what a review found: a backslash at the end of the input
 * makes no empty word (an empty word would name the current directory),
 * and a line ending in a backslash is joined to the next, as sh reads it.
 */

import assert from "node:assert/strict";
import { joinContinuedLines, splitCommands } from "../../cli/shell_words.ts";
import { EmptyPathError, resolvePath } from "../../cli/shell_paths.ts";

Deno.test("splitCommands() makes no word of a backslash that ends the line or escapes a newline", () => {
  assert.deepEqual(splitCommands("rm -r \\"), [["rm", "-r"]]);
  assert.deepEqual(splitCommands("rm -r \\\n old"), [["rm", "-r", "old"]]);
  assert.deepEqual(splitCommands("rm -r ol\\\nd"), [["rm", "-r", "old"]]);
  assert.deepEqual(splitCommands(`cat "a\\\nb"`), [["cat", "ab"]]);
  assert.deepEqual(splitCommands("cat a\\\\"), [["cat", "a\\"]]);
});

Deno.test("joinContinuedLines() joins a line ending in a backslash to the next", async () => {
  const joined: string[] = [];
  for await (
    const line of joinContinuedLines(["rm -r \\", "old_build", "ls a\\\\", "# c \\", "x \\"])
  ) {
    joined.push(line);
  }
  assert.deepEqual(joined, ["rm -r old_build", "ls a\\\\", "# c \\", "x "]);
});

Deno.test("resolvePath() refuses an empty word instead of taking it as the current directory", () => {
  assert.throws(() => resolvePath("/vfs/e1", ""), EmptyPathError);
});
