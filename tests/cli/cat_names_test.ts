/**
 * `nfs4 cat` against NFS-Ganesha, on NFSv4.0 and NFSv4.1, with names that
 * are not UTF-8 (reached through `%XX` escapes in the URL, in the file's
 * name and in a directory's) and with URLs ending in `/`: a file there is
 * "Not a directory", a directory "Is a directory", as cat(1) says.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { bytesOf, createDir, createFile, createSymlink } from "./_coreutils.ts";
import { nfs4 } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

const LATIN = bytesOf("caf", 0xe9, "\n", 0xff, 0xfe, 0x00, "end");
const NESTED = bytesOf("inside d", 0xe9, "\n");

for (const vers of VERSIONS) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 cat --vers ${vers} of names that are not UTF-8, through %XX, gives the exact bytes`,
    async (server) => {
      const dir = server.exportDir;
      createFile([dir, "/lat", 0xe9, "in1"], LATIN);
      createDir([dir, "/d", 0xe9]);
      createFile([dir, "/d", 0xe9, "/", 0xff], NESTED);
      createSymlink(["lat", 0xe9, "in1"], [dir, "/link", 0xe9]);
      createFile([dir, "/lat", 0xef, 0xbf, 0xbd, "in1"], bytesOf("not this one"));
      const url = `${server.url}/vfs`;

      const latin = await nfs4(["cat", ...v, `${url}/lat%E9in1`]);
      assert.equal(latin.code, 0, latin.stderr);
      assert.deepEqual(latin.bytes, LATIN);
      // Lower-case escapes are the same byte.
      assert.deepEqual((await nfs4(["cat", ...v, `${url}/lat%e9in1`])).bytes, LATIN);
      // Through a directory and a symlink whose names are not UTF-8.
      const nested = await nfs4(["cat", ...v, `${url}/d%E9/%FF`, `${url}/link%E9`]);
      assert.equal(nested.code, 0, nested.stderr);
      assert.deepEqual(nested.bytes, bytesOf(NESTED, LATIN));
      // U+FFFD is a name of its own, not a stand-in for the byte.
      const replacement = await nfs4(["cat", ...v, `${url}/lat%EF%BF%BDin1`]);
      assert.equal(replacement.stdout, "not this one");
      const missing = await nfs4(["cat", ...v, `${url}/lat%E8in1`]);
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr,
        `nfs4: ${url}/lat%E8in1: No such file or directory (NFS4ERR_NOENT)\n`,
      );
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} URL/ of a file is Not a directory, of a directory Is a directory`,
    async (server) => {
      const dir = server.exportDir;
      createFile([dir, "/file"], bytesOf("data\n"));
      createFile([dir, "/lat", 0xe9, "in1"], LATIN);
      createDir([dir, "/sub"]);
      createSymlink(["sub"], [dir, "/dirlink"]);
      createSymlink(["file"], [dir, "/filelink"]);
      const url = `${server.url}/vfs`;
      for (const name of ["file/", "file/.", "filelink/", "lat%E9in1/"]) {
        const r = await nfs4(["cat", ...v, `${url}/${name}`]);
        assert.equal(r.code, 1, name);
        assert.equal(r.stderr, `nfs4: ${url}/${name}: Not a directory (NFS4ERR_NOTDIR)\n`);
        assert.equal(r.stdout, "");
      }
      for (const name of ["sub/", "sub", "dirlink/", "dirlink"]) {
        const r = await nfs4(["cat", ...v, `${url}/${name}`]);
        assert.equal(r.code, 1, name);
        assert.equal(r.stderr, `nfs4: ${url}/${name}: Is a directory (NFS4ERR_ISDIR)\n`);
      }
      // A failing URL does not stop the next one.
      const both = await nfs4(["cat", ...v, `${url}/file/`, `${url}/file`, `${url}/filelink`]);
      assert.equal(both.code, 1);
      assert.equal(both.stdout, "data\ndata\n");
    },
  );
}
