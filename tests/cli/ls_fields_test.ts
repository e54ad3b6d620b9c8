/**
 * What `nfs4 ls` asks READDIR for (listingFields() in cli/ls.ts): only
 * what it prints or sorts by, so plain `ls` and `ls -R` get names and
 * kinds, `ls -l` its columns, and `--json` the fields it prints.
 */

import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { listingFields } from "../../cli/ls.ts";
import { addLsOptions, settleLsOptions } from "../../cli/ls_options.ts";

/** The fields `nfs4 ls ARGS` asks for (piped), sorted. */
function fieldsOf(args: string[], isTTY = false): string[] {
  const cmd = new Command().exitOverride();
  const read = addLsOptions(cmd);
  cmd.parse(args, { from: "user" });
  return listingFields(settleLsOptions(read(), { isTTY, columns: 80, env: {} })).sort();
}

const LONG = ["group", "linkTarget", "mode", "nlink", "owner", "rdev", "size", "spaceUsed"];

Deno.test("listingFields(): plain ls, ls -R, -1, -C, -p and -U ask for names and kinds only", () => {
  for (const args of [[], ["-R"], ["-1"], ["-C"], ["-a"], ["-p"], ["-U"], ["-r"], ["-d"]]) {
    assert.deepEqual(fieldsOf(args), [], args.join(" "));
  }
  assert.deepEqual(fieldsOf([], true), [], "on a terminal");
});

Deno.test("listingFields(): -l asks for its columns and the time it shows", () => {
  assert.deepEqual(fieldsOf(["-l"]), [...LONG, "mtime"].sort());
  assert.deepEqual(fieldsOf(["-lu"]), [...LONG, "atime"].sort());
  assert.deepEqual(fieldsOf(["-lc"]), [...LONG, "ctime"].sort());
  assert.deepEqual(fieldsOf(["-ln", "--full-time"]), [...LONG, "mtime"].sort());
  assert.deepEqual(fieldsOf(["-li"]), [...LONG, "fileid", "mtime"].sort());
});

Deno.test("listingFields(): what -i, -t, -S and -F need without -l", () => {
  assert.deepEqual(fieldsOf(["-i"]), ["fileid"]);
  assert.deepEqual(fieldsOf(["-t"]), ["mtime"]);
  assert.deepEqual(fieldsOf(["-tu"]), ["atime"]);
  assert.deepEqual(fieldsOf(["-S"]), ["size"]);
  // `*` after an executable file needs its mode; `/` and `@` only the kind.
  assert.deepEqual(fieldsOf(["-F"]), ["mode"]);
  assert.deepEqual(fieldsOf(["--file-type"]), []);
});

Deno.test("listingFields(): --json asks for every field it prints", () => {
  const all = [
    "atime",
    "ctime",
    "fileid",
    "group",
    "linkTarget",
    "mode",
    "mtime",
    "nlink",
    "owner",
    "rdev",
    "size",
    "spaceUsed",
  ];
  assert.deepEqual(fieldsOf(["--json"]), all);
  assert.deepEqual(fieldsOf(["-l", "--json"]), all);
});
