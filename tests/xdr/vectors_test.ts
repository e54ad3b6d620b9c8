/**
 * Byte-literal vectors for every XDR type (RFC 4506 §4), checked in both
 * directions: the writer produces exactly these bytes, and the reader turns
 * exactly these bytes back into the value, consuming all of them.
 */

import assert from "node:assert/strict";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { hex } from "./_hex.ts";

interface Vector<T> {
  name: string;
  value: T;
  bytes: string;
}

function roundTrip<T>(
  vectors: Vector<T>[],
  write: (w: XdrWriter, value: T) => void,
  read: (r: XdrReader) => T,
): void {
  for (const { name, value, bytes } of vectors) {
    const w = new XdrWriter();
    write(w, value);
    assert.deepEqual(w.bytes(), hex(bytes), `encode ${name}`);
    const r = new XdrReader(hex(bytes));
    assert.deepEqual(read(r), value, `decode ${name}`);
    assert.equal(r.remaining, 0, `decode ${name} consumes everything`);
    r.assertEnd();
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("XdrWriter.writeInt() and XdrReader.readInt() match byte vectors", () => {
  roundTrip<number>(
    [
      { name: "0", value: 0, bytes: "00000000" },
      { name: "1", value: 1, bytes: "00000001" },
      { name: "-1", value: -1, bytes: "ffffffff" },
      { name: "0x12345678", value: 0x12345678, bytes: "12345678" },
      { name: "INT32_MAX", value: 0x7fffffff, bytes: "7fffffff" },
      { name: "INT32_MIN", value: -0x80000000, bytes: "80000000" },
    ],
    (w, v) => w.writeInt(v),
    (r) => r.readInt(),
  );
});

Deno.test("XdrWriter.writeUint() and XdrReader.readUint() match byte vectors", () => {
  roundTrip<number>(
    [
      { name: "0", value: 0, bytes: "00000000" },
      { name: "2049", value: 2049, bytes: "00000801" },
      { name: "0x80000000", value: 0x80000000, bytes: "80000000" },
      { name: "UINT32_MAX", value: 0xffffffff, bytes: "ffffffff" },
    ],
    (w, v) => w.writeUint(v),
    (r) => r.readUint(),
  );
});

Deno.test("XdrWriter.writeEnum() and XdrReader.readEnum() match byte vectors", () => {
  const allowed = new Set([0, 1, 10033, -1]);
  roundTrip<number>(
    [
      { name: "0", value: 0, bytes: "00000000" },
      { name: "NFS4ERR_BADHANDLE", value: 10001, bytes: "00002711" },
      { name: "-1", value: -1, bytes: "ffffffff" },
    ],
    (w, v) => w.writeEnum(v),
    (r) => r.readEnum(),
  );
  roundTrip<number>(
    [{ name: "allowed 10033", value: 10033, bytes: "00002731" }],
    (w, v) => w.writeEnum(v),
    (r) => r.readEnum(allowed),
  );
});

Deno.test("XdrWriter.writeBool() and XdrReader.readBool() match byte vectors", () => {
  roundTrip<boolean>(
    [
      { name: "false", value: false, bytes: "00000000" },
      { name: "true", value: true, bytes: "00000001" },
    ],
    (w, v) => w.writeBool(v),
    (r) => r.readBool(),
  );
});

Deno.test("XdrWriter.writeHyper() and XdrReader.readHyper() match byte vectors", () => {
  roundTrip<bigint>(
    [
      { name: "0", value: 0n, bytes: "00000000 00000000" },
      { name: "1", value: 1n, bytes: "00000000 00000001" },
      { name: "-1", value: -1n, bytes: "ffffffff ffffffff" },
      { name: "2^32", value: 1n << 32n, bytes: "00000001 00000000" },
      { name: "INT64_MAX", value: (1n << 63n) - 1n, bytes: "7fffffff ffffffff" },
      { name: "INT64_MIN", value: -(1n << 63n), bytes: "80000000 00000000" },
    ],
    (w, v) => w.writeHyper(v),
    (r) => r.readHyper(),
  );
});

Deno.test("XdrWriter.writeUhyper() and XdrReader.readUhyper() match byte vectors", () => {
  roundTrip<bigint>(
    [
      { name: "0", value: 0n, bytes: "00000000 00000000" },
      { name: "0x0123456789abcdef", value: 0x0123456789abcdefn, bytes: "01234567 89abcdef" },
      { name: "2^63", value: 1n << 63n, bytes: "80000000 00000000" },
      { name: "UINT64_MAX", value: (1n << 64n) - 1n, bytes: "ffffffff ffffffff" },
    ],
    (w, v) => w.writeUhyper(v),
    (r) => r.readUhyper(),
  );
});

Deno.test("XdrWriter.writeFixedOpaque() and XdrReader.readFixedOpaque() pad lengths 0 to 5", () => {
  const cases: [number, string][] = [
    [0, ""],
    [1, "aa000000"],
    [2, "aabb0000"],
    [3, "aabbcc00"],
    [4, "aabbccdd"],
    [5, "aabbccdd ee000000"],
  ];
  for (const [length, bytes] of cases) {
    const value = hex("aabbccddee").slice(0, length);
    roundTrip<Uint8Array>(
      [{ name: `length ${length}`, value, bytes }],
      (w, v) => w.writeFixedOpaque(v, length),
      (r) => r.readFixedOpaque(length),
    );
  }
});

Deno.test("XdrWriter.writeOpaque() and XdrReader.readOpaque() pad lengths 0 to 5", () => {
  const cases: [number, string][] = [
    [0, "00000000"],
    [1, "00000001 aa000000"],
    [2, "00000002 aabb0000"],
    [3, "00000003 aabbcc00"],
    [4, "00000004 aabbccdd"],
    [5, "00000005 aabbccdd ee000000"],
  ];
  for (const [length, bytes] of cases) {
    const value = hex("aabbccddee").slice(0, length);
    roundTrip<Uint8Array>(
      [{ name: `length ${length}`, value, bytes }],
      (w, v) => w.writeOpaque(v),
      (r) => r.readOpaque(),
    );
  }
});

Deno.test("XdrWriter.writeOpaque() and XdrReader.readOpaque() accept exactly the declared maximum", () => {
  roundTrip<Uint8Array>(
    [{ name: "3 of max 3", value: hex("010203"), bytes: "00000003 01020300" }],
    (w, v) => w.writeOpaque(v, 3),
    (r) => r.readOpaque(3),
  );
  roundTrip<Uint8Array>(
    [{ name: "empty of max 0", value: new Uint8Array(0), bytes: "00000000" }],
    (w, v) => w.writeOpaque(v, 0),
    (r) => r.readOpaque(0),
  );
});

Deno.test("XdrWriter.writeString() and XdrReader.readString() match ASCII byte vectors", () => {
  roundTrip<string>(
    [
      { name: "empty", value: "", bytes: "00000000" },
      { name: "a", value: "a", bytes: "00000001 61000000" },
      { name: "ab", value: "ab", bytes: "00000002 61620000" },
      { name: "abc", value: "abc", bytes: "00000003 61626300" },
      { name: "abcd", value: "abcd", bytes: "00000004 61626364" },
      { name: "hello", value: "hello", bytes: "00000005 68656c6c 6f000000" },
    ],
    (w, v) => w.writeString(v),
    (r) => r.readString(),
  );
});

Deno.test("XdrWriter.writeString() and XdrReader.readString() encode multi-byte UTF-8", () => {
  roundTrip<string>(
    [
      // U+00E9 is two bytes, U+20AC three, U+1F600 four (a surrogate pair in JS).
      { name: "é", value: "é", bytes: "00000002 c3a90000" },
      { name: "€", value: "€", bytes: "00000003 e282ac00" },
      { name: "😀", value: "😀", bytes: "00000004 f09f9880" },
      { name: "aé€", value: "aé€", bytes: "00000006 61c3a9e2 82ac0000" },
      // A leading U+FEFF is data, not a byte-order mark to strip.
      { name: "BOM then x", value: "\ufeffx", bytes: "00000004 efbbbf78" },
    ],
    (w, v) => w.writeString(v),
    (r) => r.readString(),
  );
});

Deno.test("XdrWriter.writeString() and XdrReader.readString() count the maximum in bytes", () => {
  // "éé" is 2 characters but 4 bytes: max 4 holds, max 3 does not.
  roundTrip<string>(
    [{ name: "éé of max 4", value: "éé", bytes: "00000004 c3a9c3a9" }],
    (w, v) => w.writeString(v, 4),
    (r) => r.readString(4),
  );
  assert.throws(() => new XdrWriter().writeString("éé", 3), /exceeds maximum 3/);
  assert.throws(() => new XdrReader(hex("00000004 c3a9c3a9")).readString(3), /exceeds maximum 3/);
});

Deno.test("XdrReader.readString() escapes invalid UTF-8 bytes losslessly", () => {
  const r = new XdrReader(hex("00000003 61ff6200"));
  assert.equal(r.readString(), "a\udcffb");
  r.assertEnd();
});

Deno.test("XdrWriter.writeArray() and XdrReader.readArray() match byte vectors", () => {
  roundTrip<number[]>(
    [
      { name: "empty", value: [], bytes: "00000000" },
      { name: "[7]", value: [7], bytes: "00000001 00000007" },
      { name: "[1,2,3]", value: [1, 2, 3], bytes: "00000003 00000001 00000002 00000003" },
    ],
    (w, v) => w.writeArray(v, (w, n) => w.writeUint(n)),
    (r) => r.readArray((r) => r.readUint()),
  );
  roundTrip<string[]>(
    [{
      name: "strings",
      value: ["a", "bcde"],
      bytes: "00000002 00000001 61000000 00000004 62636465",
    }],
    (w, v) => w.writeArray(v, (w, s) => w.writeString(s)),
    (r) => r.readArray((r) => r.readString()),
  );
});

Deno.test("XdrWriter.writeArray() and XdrReader.readArray() accept exactly the declared maximum count", () => {
  roundTrip<number[]>(
    [{ name: "2 of max 2", value: [1, 2], bytes: "00000002 00000001 00000002" }],
    (w, v) => w.writeArray(v, (w, n) => w.writeUint(n), 2),
    (r) => r.readArray((r) => r.readUint(), 2),
  );
  roundTrip<number[]>(
    [{ name: "0 of max 0", value: [], bytes: "00000000" }],
    (w, v) => w.writeArray(v, (w, n) => w.writeUint(n), 0),
    (r) => r.readArray((r) => r.readUint(), 0),
  );
});

Deno.test("XdrWriter.writeFixedArray() and XdrReader.readFixedArray() match byte vectors", () => {
  roundTrip<number[]>(
    [
      { name: "3 ints", value: [-1, 0, 1], bytes: "ffffffff 00000000 00000001" },
    ],
    (w, v) => w.writeFixedArray(v, 3, (w, n) => w.writeInt(n)),
    (r) => r.readFixedArray(3, (r) => r.readInt()),
  );
  roundTrip<number[]>(
    [{ name: "0 ints", value: [], bytes: "" }],
    (w, v) => w.writeFixedArray(v, 0, (w, n) => w.writeInt(n)),
    (r) => r.readFixedArray(0, (r) => r.readInt()),
  );
});

Deno.test("XdrWriter.writeOptional() and XdrReader.readOptional() match byte vectors", () => {
  roundTrip<number | undefined>(
    [
      { name: "absent", value: undefined, bytes: "00000000" },
      { name: "present 5", value: 5, bytes: "00000001 00000005" },
    ],
    (w, v) => w.writeOptional(v, (w, n) => w.writeUint(n)),
    (r) => r.readOptional((r) => r.readUint()),
  );
  // A linked list (RFC 4506 §4.19's stringlist): "a" -> "b" -> end.
  interface Node {
    s: string;
    next: Node | undefined;
  }
  const writeNode = (w: XdrWriter, n: Node): void => {
    w.writeString(n.s).writeOptional(n.next, writeNode);
  };
  const readNode = (r: XdrReader): Node => ({ s: r.readString(), next: r.readOptional(readNode) });
  roundTrip<Node | undefined>(
    [{
      name: "list",
      value: { s: "a", next: { s: "b", next: undefined } },
      bytes: "00000001 00000001 61000000 00000001 00000001 62000000 00000000",
    }],
    (w, v) => w.writeOptional(v, writeNode),
    (r) => r.readOptional(readNode),
  );
});

Deno.test("XdrWriter.writeUnion() and XdrReader.readUnion() match byte vectors", () => {
  type U = { d: 0 } | { d: 1; n: number } | { d: -2; s: string } | { d: 9; other: true };
  const write = (w: XdrWriter, u: U): void => {
    switch (u.d) {
      case 0:
        w.writeUnion(0);
        break;
      case 1:
        w.writeUnion(1, (w) => w.writeUint(u.n));
        break;
      case -2:
        w.writeUnion(-2, (w) => w.writeString(u.s));
        break;
      case 9:
        w.writeUnion(9);
    }
  };
  const read = (r: XdrReader): U =>
    r.readUnion<U>(
      {
        0: () => ({ d: 0 }),
        1: (r) => ({ d: 1, n: r.readUint() }),
        [-2]: (r) => ({ d: -2, s: r.readString() }),
      },
      (_r, d) => {
        assert.equal(d, 9);
        return { d: 9, other: true };
      },
    );
  roundTrip<U>(
    [
      { name: "void arm", value: { d: 0 }, bytes: "00000000" },
      { name: "uint arm", value: { d: 1, n: 258 }, bytes: "00000001 00000102" },
      {
        name: "negative discriminant",
        value: { d: -2, s: "x" },
        bytes: "fffffffe 00000001 78000000",
      },
      { name: "default arm", value: { d: 9, other: true }, bytes: "00000009" },
    ],
    write,
    read,
  );
});

Deno.test("XdrWriter encodes a mixed struct to the expected bytes", () => {
  // struct { unsigned hyper clientid; string owner<>; bool flag; opaque verf[8]; }
  const w = new XdrWriter(16);
  w.writeUhyper(0xdeadbeefn).writeString("me").writeBool(true).writeFixedOpaque(
    hex("0102030405060708"),
  );
  const expected = hex("00000000 deadbeef 00000002 6d650000 00000001 01020304 05060708");
  assert.deepEqual(w.bytes(), expected);
  const r = new XdrReader(expected);
  assert.equal(r.readUhyper(), 0xdeadbeefn);
  assert.equal(r.readString(), "me");
  assert.equal(r.readBool(), true);
  assert.deepEqual(r.readFixedOpaque(8), hex("0102030405060708"));
  r.assertEnd();
  assert.deepEqual(utf8("me"), hex("6d65"));
});
