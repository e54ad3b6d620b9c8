/**
 * A repeated `--trace` (h6 finding 19): the last one wins, as a repeated
 * option with a value does in GNU tools (`ls --color=always --color=never`
 * colours nothing). `--trace=json,all --trace` traces text with the default
 * categories; `--trace-file` is an option of its own and stays. This holds
 * the documented choice; no code changed for it.
 */

import assert from "node:assert/strict";
import { createRootCommand, normalizeArgv, readGlobalOptions } from "../../cli/globals.ts";

function globalsOf(argv: string[]) {
  const program = createRootCommand().exitOverride();
  program.command("ls").argument("[url]").action(() => {});
  program.parse(normalizeArgv(argv), { from: "user" });
  return readGlobalOptions(program.opts());
}

Deno.test("--trace given twice: the last one wins, as GNU options with a value do", () => {
  const later = globalsOf(["--trace=json,all", "--trace-file", "/tmp/t", "--trace", "ls"]);
  assert.equal(later.trace, "text");
  assert.equal(later.traceFilter, undefined);
  assert.equal(later.traceFile, "/tmp/t");
  const json = globalsOf(["--trace", "--trace=json,ops", "ls"]);
  assert.equal(json.trace, "json");
  assert.deepEqual(json.traceFilter?.categories, ["ops"]);
});
