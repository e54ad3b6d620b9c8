import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  Attr,
  attrId,
  attrIds,
  attrName,
  DECODABLE_ATTRS,
  decodeBitmap,
  decodeFattr,
  encodeBitmap,
  encodeFattr,
  encodeFattrResult,
  type FileAttributes,
} from "../../lib/nfs4/attrs.ts";
import { Limits } from "../../lib/nfs4/constants.ts";
import { decode, encode, fileAttributes, hex, idSet, settableAttributes } from "./_helpers.ts";

Deno.test("Attr names every FATTR4 id 0..82 once", () => {
  const ids = Object.values(Attr).sort((a, b) => a - b);
  assert.deepStrictEqual(ids, Array.from({ length: 83 }, (_, i) => i));
  assert.equal(Attr.MOUNTED_ON_FILEID, 55);
  assert.equal(Attr.SUPPATTR_EXCLCREAT, 75);
  assert.equal(Attr.XATTR_SUPPORT, 82);
  assert.equal(attrName(4), "SIZE");
  assert.equal(attrName(200), "ATTR_200");
});

Deno.test("encodeBitmap() writes only the words up to the highest id", () => {
  assert.deepStrictEqual(encode(encodeBitmap, []), hex("00000000"));
  assert.deepStrictEqual(encode(encodeBitmap, [Attr.TYPE]), hex("00000001 00000002"));
  assert.deepStrictEqual(
    encode(encodeBitmap, [Attr.MODE, Attr.SIZE, Attr.TYPE]),
    hex("00000002 00000012 00000002"),
  );
  assert.deepStrictEqual(encode(encodeBitmap, [31]), hex("00000001 80000000"));
  assert.deepStrictEqual(encode(encodeBitmap, [64]), hex("00000003 00000000 00000000 00000001"));
});

Deno.test("encodeBitmap() rejects ids outside the bitmap limit", () => {
  assert.throws(() => encode(encodeBitmap, [-1]), XdrError);
  assert.throws(() => encode(encodeBitmap, [Limits.bitmapWords * 32]), XdrError);
  assert.throws(() => encode(encodeBitmap, [1.5]), XdrError);
});

Deno.test("decodeBitmap() returns ids in ascending order and rejects too many words", () => {
  const ids = decode(decodeBitmap, hex("00000002 80000012 00000002"));
  assert.deepStrictEqual([...ids], [1, 4, 31, 33]);
  const w = new XdrWriter();
  w.writeUint(Limits.bitmapWords + 1);
  for (let i = 0; i <= Limits.bitmapWords; i++) w.writeUint(0);
  assert.throws(() => decode(decodeBitmap, w.bytes()), XdrError);
});

Deno.test("decodeBitmap() round-trips any id set", () => {
  fc.assert(fc.property(idSet, (ids) => {
    assert.deepStrictEqual(decode(decodeBitmap, encode(encodeBitmap, ids)), new Set(ids));
  }));
});

Deno.test("encodeFattrResult() matches hand-written vectors", () => {
  // size (4) and mode (33): bitmap words 0x10 and 0x2, 12 bytes of values.
  assert.deepStrictEqual(
    encode(encodeFattrResult, { mode: 0o755, size: 0x1000n }),
    hex("00000002 00000010 00000002  0000000c  00000000 00001000  000001ed"),
  );
  // owner (36) and owner_group (37): word 1 = 0x30.
  assert.deepStrictEqual(
    encode(encodeFattrResult, { owner: "root", ownerGroup: "wheel" }),
    hex("00000002 00000000 00000030  00000014  00000004 726f6f74  00000005 77686565 6c000000"),
  );
  // time_access_set (48) to a client time, time_modify_set (54) to the server's.
  assert.deepStrictEqual(
    encode(encodeFattr, {
      timeModifySet: "server",
      timeAccessSet: { seconds: 1n, nseconds: 2 },
    }),
    hex(
      "00000002 00000000 00410000  00000014" +
        "  00000001 00000000 00000001 00000002  00000000",
    ),
  );
  // type (1), fsid (8), supported_attrs (0) as a bitmap value.
  assert.deepStrictEqual(
    encode(encodeFattrResult, {
      type: 2,
      supportedAttrs: new Set([0, 1, 33]),
      fsid: { major: 1n, minor: 2n },
    }),
    hex(
      "00000001 00000103  00000020" +
        "  00000002 00000003 00000002  00000002" +
        "  00000000 00000001 00000000 00000002",
    ),
  );
});

Deno.test("decodeFattr() decodes the hand-written vectors", () => {
  const { attrs, returned, undecoded } = decode(
    decodeFattr,
    hex("00000002 00000010 00000002  0000000c  00000000 00001000  000001ed"),
  );
  assert.deepStrictEqual(attrs, { size: 0x1000n, mode: 0o755 });
  assert.deepStrictEqual(returned, new Set([Attr.SIZE, Attr.MODE]));
  assert.equal(undecoded.size, 0);
});

Deno.test("decodeFattr() round-trips every implemented attribute", () => {
  fc.assert(
    fc.property(fileAttributes, (attrs) => {
      const decoded = decode(decodeFattr, encode(encodeFattrResult, attrs));
      assert.deepStrictEqual(decoded.attrs, attrs);
      assert.deepStrictEqual(decoded.returned, new Set(attrIds(attrs)));
      assert.equal(decoded.undecoded.size, 0);
    }),
    { numRuns: 300 },
  );
});

Deno.test("encodeFattr() round-trips settable attributes", () => {
  fc.assert(fc.property(settableAttributes, (attrs) => {
    assert.deepStrictEqual(decode(decodeFattr, encode(encodeFattr, attrs)).attrs, attrs);
  }));
});

Deno.test("decodeFattr() stops at the first unknown id and reports the rest as undecoded", () => {
  // type (1) = 2, then fs_locations_info (67), retention_set (70) and an id
  // no RFC defines (100), whose values this client cannot parse.
  const w = new XdrWriter();
  encodeBitmap(w, [Attr.TYPE, Attr.FS_LOCATIONS_INFO, Attr.RETENTION_SET, 100]);
  w.writeOpaque(hex("00000002 deadbeef 00000001 ffffffff ff"));
  w.writeUint(0x12345678); // what follows the fattr4 in a reply
  const r = new XdrReader(w.bytes());
  const { attrs, returned, undecoded } = decodeFattr(r);
  assert.deepStrictEqual(attrs, { type: 2 });
  assert.deepStrictEqual(returned, new Set([1, 67, 70, 100]));
  assert.deepStrictEqual(undecoded, new Set([67, 70, 100]));
  assert.equal(r.readUint(), 0x12345678);
  r.assertEnd();
});

Deno.test("decodeFattr() rejects values longer than their bitmap says", () => {
  const w = new XdrWriter();
  encodeBitmap(w, [Attr.MODE]);
  w.writeOpaque(hex("000001ed 00000000"));
  assert.throws(() => decode(decodeFattr, w.bytes()), XdrError);
});

Deno.test("decodeFattr() rejects an owner longer than Limits.owner", () => {
  const long = "x".repeat(Limits.owner + 1);
  const w = new XdrWriter();
  encodeBitmap(w, [Attr.OWNER]);
  const inner = new XdrWriter();
  inner.writeString(long);
  w.writeOpaque(inner.bytes());
  assert.throws(() => decode(decodeFattr, w.bytes()), /exceeds maximum 1024/);
  // and the encoder refuses to send one
  assert.throws(() => encode(encodeFattr, { owner: long }), XdrError);
});

Deno.test("decodeFattr() rejects attribute values that claim a huge length", () => {
  const bytes = hex("00000002 00000000 00000010  7fffffff  00000004 726f6f74");
  const started = performance.now();
  assert.throws(() => decode(decodeFattr, bytes), XdrError);
  // An owner whose string length is huge, inside a sane attr_vals.
  const inner = hex("00000002 00000000 00000010  00000008  7ffffff0 726f6f74");
  assert.throws(() => decode(decodeFattr, inner), XdrError);
  assert.ok(performance.now() - started < 1000);
});

Deno.test("decodeFattr() rejects an ACL claiming a billion entries", () => {
  const bytes = hex("00000001 00001000  00000008  3b9aca00 00000000");
  assert.throws(() => decode(decodeFattr, bytes), /array count 1000000000 exceeds maximum/);
});

Deno.test("attrIds() and attrId() map fields to ids", () => {
  const attrs: FileAttributes = { mode: 1, size: 2n, type: 1, xattrSupport: true };
  assert.deepStrictEqual(attrIds(attrs), [1, 4, 33, 82]);
  assert.equal(attrId("mountedOnFileid"), 55);
  assert.equal(DECODABLE_ATTRS.has(Attr.FS_LOCATIONS_INFO), false);
  assert.equal(DECODABLE_ATTRS.has(Attr.ACL), true);
});
