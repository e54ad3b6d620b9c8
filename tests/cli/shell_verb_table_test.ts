/**
 * verbTable(), the shell's `help` list: fitted to the width given (the
 * terminal's), each summary in one column beside its usage or below a long
 * one; before, a fixed table 160 columns wide.
 */

import assert from "node:assert/strict";
import { verbTable } from "../../cli/shell_builtins.ts";

Deno.test("verbTable() fits the width it is given, the summaries in one column", () => {
  for (const width of [60, 80, 120]) {
    const lines = verbTable(width).split("\n");
    assert.deepEqual(lines.filter((l) => l.length > width), [], `${width}`);
    // A summary beside its usage starts where the others do.
    const starts = lines.filter((l) => /^ {2}\S.* {2,}\S/.test(l)).map((l) =>
      l.search(/ {2,}\S/) + l.slice(l.search(/ {2,}\S/)).search(/\S/)
    );
    assert.ok(starts.length > 5, lines.join("\n"));
    assert.equal(new Set(starts).size, 1, lines.join("\n"));
  }
  // Wide enough, each verb on one line as before.
  const wide = verbTable(200).split("\n");
  assert.ok(
    wide.some((l) => /^ {2}lock \[.*PATH {2}take a byte-range lock/.test(l)),
    wide.join("\n"),
  );
});
