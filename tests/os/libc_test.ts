/**
 * lib/os/libc.ts's pure helpers (the FFI calls themselves are tested where
 * they are used: tests/client/copy_local_fs_test.ts, copy_local_io_test.ts).
 */

import assert from "node:assert/strict";
import { splitNul } from "../../lib/os/libc.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (parts: Uint8Array[]) => parts.map((part) => new TextDecoder().decode(part));

Deno.test("splitNul: the strings of /proc/self/cmdline, empty ones kept, a last one without its NUL too", () => {
  assert.deepEqual(texts(splitNul(bytes("nfs4\0cp\0\0-r\0"))), ["nfs4", "cp", "", "-r"]);
  assert.deepEqual(texts(splitNul(bytes("a\0b"))), ["a", "b"]);
  assert.deepEqual(texts(splitNul(bytes("\0"))), [""]);
  assert.deepEqual(splitNul(new Uint8Array()), []);
  // Views, not copies: the bytes that are not UTF-8 stay as they were.
  const raw = new Uint8Array([0x6c, 0xe9, 0, 0xff]);
  assert.deepEqual(splitNul(raw).map((part) => [...part]), [[0x6c, 0xe9], [0xff]]);
  assert.equal(splitNul(raw)[0]!.buffer, raw.buffer);
});
