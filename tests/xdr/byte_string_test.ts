import fc from "fast-check";
import assert from "node:assert/strict";
import {
  decodeByteString,
  displayByteString,
  encodeByteString,
  hasEscapedBytes,
} from "../../lib/xdr/byte_string.ts";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("decodeByteString() keeps valid UTF-8 as text", () => {
  assert.deepEqual(decodeByteString(new TextEncoder().encode("café ✓ 𝄞")), "café ✓ 𝄞");
  assert.deepEqual(hasEscapedBytes("café"), false);
});

Deno.test("decodeByteString() escapes each byte that is not UTF-8 (Latin-1 é, overlong, surrogate)", () => {
  assert.deepEqual(decodeByteString(bytes(0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e)), "lat\udce9in");
  // Overlong "/" (C0 AF) and an encoded surrogate (ED A0 80) are not UTF-8 (RFC 3629 §3).
  assert.deepEqual(decodeByteString(bytes(0xc0, 0xaf)), "\udcc0\udcaf");
  assert.deepEqual(decodeByteString(bytes(0xed, 0xa0, 0x80)), "\udced\udca0\udc80");
  // A truncated sequence at the end.
  assert.deepEqual(decodeByteString(bytes(0x61, 0xe2, 0x82)), "a\udce2\udc82");
  assert.deepEqual(hasEscapedBytes("lat\udce9in"), true);
  assert.deepEqual(displayByteString("lat\udce9in"), "lat\ufffdin");
});

Deno.test("encodeByteString() turns escapes back into their bytes", () => {
  assert.deepEqual(encodeByteString("lat\udce9in"), bytes(0x6c, 0x61, 0x74, 0xe9, 0x69, 0x6e));
  assert.deepEqual(encodeByteString("𝄞"), new TextEncoder().encode("𝄞"));
  // Lone surrogates that are not escapes are written as TextEncoder would (U+FFFD).
  assert.deepEqual(encodeByteString("\ud800"), bytes(0xef, 0xbf, 0xbd));
  assert.deepEqual(encodeByteString("\udc41"), bytes(0xef, 0xbf, 0xbd));
});

Deno.test("decodeByteString() then encodeByteString() gives back any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      assert.deepEqual(encodeByteString(decodeByteString(b)), b);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("XdrWriter.writeString() and XdrReader.readString() keep non-UTF-8 bytes exactly", () => {
  const raw = bytes(0x6e, 0xff, 0xfe, 0x80);
  const w = new XdrWriter().writeOpaque(raw);
  const name = new XdrReader(w.bytes()).readString(255);
  assert.deepEqual(new XdrWriter().writeString(name).bytes(), w.bytes());
});
