/** endOfData(): when a READ reply ends a file's data (lib/client/read_progress.ts). */

import assert from "node:assert/strict";
import { endOfData } from "../../lib/client/read_progress.ts";

const bytes = (n: number) => ({ data: new Uint8Array(n), eof: false });

Deno.test("endOfData(): EOF ends the data, bytes without it do not", () => {
  assert.equal(endOfData("/f", 0n, 100n, { data: new Uint8Array(10), eof: true }), true);
  assert.equal(endOfData("/f", 0n, 100n, { data: new Uint8Array(0), eof: true }), true);
  assert.equal(endOfData("/f", 0n, 100n, bytes(10)), false);
  assert.equal(endOfData("/f", 200n, 100n, bytes(10)), false, "a file that grew goes on");
});

Deno.test("endOfData(): no bytes and no EOF at or past the known size, or of an unknown size, is the end", () => {
  assert.equal(endOfData("/f", 100n, 100n, bytes(0)), true);
  assert.equal(endOfData("/f", 150n, 100n, bytes(0)), true);
  assert.equal(endOfData("/f", 0n, undefined, bytes(0)), true);
});

Deno.test("endOfData(): no bytes and no EOF before the known size is an I/O error naming the file and byte (RFC 8881 §18.22)", () => {
  assert.throws(
    () => endOfData("/vfs/big", 40n, 100n, bytes(0)),
    /^PathError: \/vfs\/big: the server returned no data and no end of file at byte 40 of 100 \(I\/O error\)$/,
  );
});
