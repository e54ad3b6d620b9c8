/**
 * lib/client/names.ts: client paths, whose `/` always separates names, and
 * the names in them, whose own `/` (an URL's `%2F`) is U+DC2F in a path.
 */

import assert from "node:assert/strict";
import {
  childPath,
  nameInPath,
  nameOfComponent,
  namesOfPath,
  pathOfNames,
  SLASH_IN_NAME,
} from "../../lib/client/names.ts";

Deno.test("pathOfNames() and namesOfPath() are inverses; childPath() adds one name", () => {
  const cases: string[][] = [
    [],
    ["vfs"],
    ["vfs", "a/b", "c"],
    ["vfs", "//", "/x/"],
    ["vfs", "lat\udce9in1", "a b"],
  ];
  for (const names of cases) {
    const path = pathOfNames(names);
    assert.equal(path.split("/").length - 1, Math.max(1, names.length), JSON.stringify(names));
    assert.deepEqual(namesOfPath(path), names, JSON.stringify(names));
  }
  assert.equal(pathOfNames([]), "/");
  assert.deepEqual(namesOfPath("/vfs/./a//b/../"), ["vfs", "a", "b", ".."]);
  assert.equal(childPath("/", "a/b"), `/a${SLASH_IN_NAME}b`);
  assert.equal(childPath("/vfs/", "x"), "/vfs/x");
  assert.equal(nameOfComponent(nameInPath("a/b/c")), "a/b/c");
  assert.equal(nameInPath("plain"), "plain");
});
