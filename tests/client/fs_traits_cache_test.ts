/**
 * lib/client/fs_traits.ts: each file system's supported attributes and
 * longest name, kept by fsid, and what a GETATTR asks for from them.
 */

import assert from "node:assert/strict";
import { Attr, type FileAttributes } from "../../lib/nfs4/attrs.ts";
import {
  FsTraitsCache,
  NAME_MAX,
  nameTooLong,
  supportedOf,
  traitsFrom,
} from "../../lib/client/fs_traits.ts";

Deno.test("FsTraitsCache keeps the first traits of each fsid; supportedOf() and nameTooLong() read them", () => {
  const cache = new FsTraitsCache();
  const a = { fsid: { major: 2n, minor: 0n }, maxname: 1024, supportedAttrs: new Set([Attr.SIZE]) };
  const traits = cache.learn(a as FileAttributes)!;
  assert.deepEqual(traits, { supported: new Set([Attr.SIZE]), maxName: 1024 });
  // The first answer stands; another fsid is another file system.
  assert.equal(cache.learn({ ...a, maxname: 10 } as FileAttributes), traits);
  assert.equal(cache.of({ fsid: { major: 2n, minor: 0n } }), traits);
  assert.equal(cache.of({ fsid: { major: 2n, minor: 1n } }), undefined);
  assert.equal(cache.of({}), undefined);
  assert.equal(cache.learn({ maxname: 10 }), undefined, "no fsid: nothing to key it by");

  assert.deepEqual(supportedOf([Attr.TYPE, Attr.SIZE, Attr.MODE], traits), [Attr.TYPE, Attr.SIZE]);
  const unsaid = traitsFrom({});
  assert.deepEqual(unsaid, { supported: null, maxName: undefined });
  assert.deepEqual(supportedOf([Attr.MODE], unsaid), [Attr.MODE], "not said: all asked");
  assert.equal(nameTooLong("x".repeat(1024), traits), false);
  assert.equal(nameTooLong("x".repeat(1025), traits), true);
  assert.equal(nameTooLong("é".repeat(128), unsaid), true, "bytes, against NAME_MAX");
  assert.equal(NAME_MAX, 255);
});
