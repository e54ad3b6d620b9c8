/** The names a server lists, held to what a name can be (lib/client/listed_names.ts). */

import assert from "node:assert/strict";
import { checkListedNames, listedNameProblem } from "../../lib/client/listed_names.ts";

Deno.test("listedNameProblem(): a single path component is a name, whatever its bytes", () => {
  for (const name of ["a", "a b", "...", ".hidden", "é", "lat\udce9in1", "a\\b", "-x"]) {
    assert.equal(listedNameProblem(name), undefined, name);
  }
});

Deno.test("listedNameProblem(): empty, '/' and NUL are not names", () => {
  assert.equal(listedNameProblem(""), "an empty name");
  assert.equal(listedNameProblem("a/b"), "a name holding '/'");
  assert.equal(listedNameProblem("../x"), "a name holding '/'");
  assert.equal(listedNameProblem("/"), "a name holding '/'");
  assert.equal(listedNameProblem("a\0b"), "a name holding a NUL byte");
});

Deno.test("checkListedNames(): '.' and '..' are dropped, the rest kept in order", () => {
  const entries = [{ name: "b" }, { name: "." }, { name: "a" }, { name: ".." }];
  assert.deepEqual(checkListedNames("/vfs/d", entries), [{ name: "b" }, { name: "a" }]);
  const plain = [{ name: "x" }];
  assert.equal(checkListedNames("/vfs/d", plain), plain, "nothing to drop: the same array");
});

Deno.test("checkListedNames(): a name that is none fails the listing, naming the directory and the name", () => {
  assert.throws(
    () => checkListedNames("/vfs/d", [{ name: "ok" }, { name: "../../etc/passwd" }]),
    /^Error: \/vfs\/d: the server listed an entry with a name holding '\/' \("\.\.\/\.\.\/etc\/passwd"\): not a file name \(I\/O error\)$/,
  );
  assert.throws(() => checkListedNames("/vfs/d", [{ name: "" }]), /an empty name \(""\)/);
});
