/**
 * listedFileInfo() (lib/client/client.ts): the FileInfo of a READDIR
 * entry made from the FattrValues its page's decoding left, held to
 * toFileInfo() of the same attributes decoded by decodeFattr(): the same
 * fields, values and field order for any attributes (times at any second,
 * sizes either side of 2^53, devices, missing attributes).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  decodeFattr,
  encodeFattrResult,
  FattrDecoder,
  FattrValues,
  type FileAttributes,
} from "../../lib/nfs4/attrs.ts";
import { listedFileInfo, toFileInfo } from "../../lib/client/client.ts";
import { fh, fileAttributes, i64, rec, str, u32, u64 } from "../nfs4/_helpers.ts";

const seconds = fc.oneof(
  i64,
  fc.bigInt({ min: 0n, max: 1n << 33n }),
  fc.bigInt({ min: -(1n << 33n), max: 0n }),
  fc.bigInt({ min: (1n << 53n) - 2n, max: (1n << 53n) + 2n }),
);
const time = rec({ seconds, nseconds: fc.oneof(u32, fc.integer({ min: 0, max: 999_999_999 })) });
const size = fc.oneof(u64, fc.bigInt({ min: 0n, max: 1n << 40n }));

const listingAttributes: fc.Arbitrary<FileAttributes> = rec({
  type: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer()),
  change: size,
  size,
  fsid: rec({ major: size, minor: size }),
  rdattrError: u32,
  filehandle: fh,
  fileid: size,
  mode: u32,
  numlinks: u32,
  owner: fc.oneof(fc.constantFrom("0", "1000", "root@example.org"), str),
  ownerGroup: fc.oneof(fc.constantFrom("0", "100"), str),
  rawdev: rec({
    specdata1: fc.oneof(fc.constant(0), u32),
    specdata2: fc.oneof(fc.constant(0), u32),
  }),
  spaceUsed: size,
  timeAccess: time,
  timeMetadata: time,
  timeModify: time,
}, { requiredKeys: [] });

function assertSameInfo(name: string, attrs: FileAttributes, values: FattrValues): void {
  const expected = toFileInfo(name, `/d/${name}`, attrs);
  const got = listedFileInfo(name, `/d/${name}`, values);
  assert.deepStrictEqual(got, expected);
  assert.deepStrictEqual(Object.keys(got), Object.keys(expected));
}

Deno.test("listedFileInfo() of FattrValues.fill() is toFileInfo() of the same attributes", () => {
  fc.assert(
    fc.property(fc.oneof(listingAttributes, fileAttributes), str, (attrs, name) => {
      const values = new FattrValues();
      values.fill({ attrs, returned: new Set(), undecoded: new Set() });
      assertSameInfo(name, attrs, values);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("listedFileInfo() of what FattrDecoder.valuesAt() reads is toFileInfo() of decodeFattr()", () => {
  const decoder = new FattrDecoder();
  const values = new FattrValues();
  fc.assert(
    fc.property(fc.array(listingAttributes, { minLength: 1, maxLength: 6 }), (list) => {
      const w = new XdrWriter();
      for (const attrs of list) encodeFattrResult(w, attrs);
      const bytes = w.bytes().slice();
      const view = new DataView(bytes.buffer);
      const r = new XdrReader(bytes);
      for (let i = 0; i < list.length; i++) {
        const at = r.offset;
        const { attrs } = decodeFattr(r);
        assert.ok(decoder.valuesAt(bytes, view, at, values));
        assert.equal(decoder.end, r.offset);
        assertSameInfo(`f${i}`, attrs, values);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("listedFileInfo() gives files with the same device numbers one rdev", () => {
  const values = new FattrValues();
  const info = (specdata1: number, specdata2: number) => {
    values.fill({
      attrs: { rawdev: { specdata1, specdata2 } },
      returned: new Set(),
      undecoded: new Set(),
    });
    return listedFileInfo("f", "/f", values).rdev;
  };
  const a = info(0, 0);
  assert.strictEqual(info(0, 0), a);
  assert.deepStrictEqual(info(8, 1), { major: 8, minor: 1 });
  assert.deepStrictEqual(info(0, 0), { major: 0, minor: 0 });
});
