/**
 * The listings a `cp -r` survey keeps for the copy's walk
 * (lib/client/copy/kept_listings.ts): within a byte budget, each taken
 * once, none older than KEPT_LISTING_MAX_AGE_MS; and, against NFS-Ganesha,
 * a tree copied from the server with a budget that holds only some of its
 * listings: the rest are listed again (READDIR, RFC 8881 §18.23) and
 * nothing is missed.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { copy, parseLocation } from "../../lib/client/copy/mod.ts";
import {
  entryBytes,
  KEPT_LISTING_MAX_AGE_MS,
  KeptListings,
} from "../../lib/client/copy/kept_listings.ts";
import type { DirEntry } from "../../lib/client/copy/side.ts";
import { serverTest } from "../_server.ts";
import { probeClient } from "../cli/_spawn.ts";

const entry = (dir: string, name: string): DirEntry => ({
  kind: "file",
  name,
  path: `${dir}/${name}`,
  id: `nfs:h:2049:vfs:${name}`,
  size: 1n,
  mode: 0o644,
  mtime: undefined,
  atime: undefined,
});

Deno.test("KeptListings: a listing is kept while it fits the byte budget, taken once, and not at all once older than the age limit", () => {
  let now = 0;
  const one = [entry("/a", "x"), entry("/a", "y")];
  const weight = one.reduce((sum, e) => sum + entryBytes(e), 0);
  const kept = new KeptListings(2 * weight + 1, () => now);
  kept.keep("/a", one);
  kept.keep("/b", [entry("/b", "x"), entry("/b", "y")]);
  kept.keep("/c", [entry("/c", "x")]); // past the budget: not kept
  assert.equal(kept.bytes, 2 * weight);
  // A copy: the caller's array may be changed (the walk lets entries go).
  one.length = 0;
  assert.deepEqual(kept.take("/a")?.map((e) => e.name), ["x", "y"]);
  assert.equal(kept.take("/a"), undefined, "taken once");
  assert.equal(kept.take("/c"), undefined);
  assert.equal(kept.bytes, weight);
  now = KEPT_LISTING_MAX_AGE_MS + 1;
  assert.equal(kept.take("/b"), undefined, "too old: listed again");
  assert.equal(kept.bytes, 0);
});

Deno.test("KeptListings: an entry weighs its strings too (a server's long names and link targets count against the budget)", () => {
  const short = entry("/d", "n");
  const long = { ...entry("/d", "n".repeat(255)), linkTarget: "t".repeat(4000) };
  assert.ok(entryBytes(long) - entryBytes(short) >= 2 * (254 + 4000));
});

serverTest(
  "cp -r from the server with a budget that keeps only some listings: those are taken, the rest listed again, and the whole tree is copied",
  async (server) => {
    const src = `${server.exportDir}/kept`;
    for (const d of ["a", "b", "c", "d"]) {
      await fs.mkdir(`${src}/${d}`, { recursive: true });
      for (let f = 0; f < 6; f++) await fs.writeFile(`${src}/${d}/f${f}`, `${d}${f}\n`);
    }
    const local = await Deno.makeTempDir({ prefix: "nfs4-kept-" });
    const client = await probeClient(server, "4.1");
    try {
      let readdirs = 0;
      const readdir = client.readdir.bind(client);
      client.readdir = (...args) => {
        readdirs++;
        return readdir(...args);
      };
      // Room for the top listing and one directory's, not for all five.
      const budget = 4 * 520 + 6 * 520;
      const summary = await copy(
        [parseLocation(`${server.url}/vfs/kept`)],
        parseLocation(`${local}/out`),
        {
          recursive: true,
          connect: () => Promise.resolve(client),
          onError: (e) => assert.fail(String(e)),
          tuning: { keptListingBytes: budget },
        },
      );
      assert.equal(summary.files, 24);
      assert.equal(summary.errors, 0);
      for (const d of ["a", "b", "c", "d"]) {
        for (let f = 0; f < 6; f++) {
          assert.equal(await fs.readFile(`${local}/out/${d}/f${f}`, "utf8"), `${d}${f}\n`);
        }
      }
      // Five directories: listed once each by the survey, again by the copy
      // only where nothing was kept.
      assert.ok(readdirs > 5 && readdirs < 10, `${readdirs} listings`);
    } finally {
      await client.close();
      await Deno.remove(local, { recursive: true });
    }
  },
);
