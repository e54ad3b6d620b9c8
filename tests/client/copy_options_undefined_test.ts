/**
 * The copy's option types take `undefined` for an absent property, as a
 * program built with `exactOptionalPropertyTypes` (this project's own
 * setting) writes options built from flags, `tuning` and `preserve`
 * included; and an undefined tuning value keeps its default rather than
 * replacing it (a spread `{ ...DEFAULT_TUNING, ...tuning }` let it). What
 * a copy user names is exported from mod.ts.
 */

import assert from "node:assert/strict";
import * as nfs4 from "../../mod.ts";
import type { CopyOptions, CopyTuningOverrides, TraceFilter } from "../../mod.ts";
import { CopyRun } from "../../lib/client/copy/run.ts";
import { DEFAULT_TUNING, tuningWith } from "../../lib/client/copy/options.ts";
import type { MoveOptions } from "../../lib/client/move.ts";
import { Tracer } from "../../lib/state/trace.ts";

const unreachable = (): Promise<never> => Promise.reject(new Error("no server in this test"));

/** Each tuning value undefined: what `--flag` left unset gives. */
const ALL_UNDEFINED: Required<CopyTuningOverrides> = {
  readDepth: undefined,
  writeDepth: undefined,
  commitBytes: undefined,
  chunkSize: undefined,
  parallelFiles: undefined,
  smallFileBytes: undefined,
  keptListingBytes: undefined,
};

Deno.test("CopyOptions, MoveOptions and TraceFilter take undefined for an absent property (exactOptionalPropertyTypes)", () => {
  // Compiles only when each optional property takes `undefined`.
  const flag = (name: string): string | undefined => (name === "commit" ? "65536" : undefined);
  const commit = flag("commit");
  const depth = flag("depth");
  const options: CopyOptions = {
    connect: unreachable,
    onError: () => {},
    recursive: undefined,
    preserve: { mode: true, ownership: undefined, timestamps: undefined, links: undefined },
    dereference: undefined,
    force: undefined,
    noClobber: undefined,
    update: undefined,
    inplace: undefined,
    sparse: undefined,
    onCopied: undefined,
    onWarning: undefined,
    stdin: undefined,
    stdout: undefined,
    signal: undefined,
    onProgress: undefined,
    umask: undefined,
    tuning: { commitBytes: commit ? Number(commit) : undefined, writeDepth: depth ? 2 : undefined },
    leftovers: undefined,
  };
  const move: MoveOptions = {
    connect: unreachable,
    onError: () => {},
    noClobber: undefined,
    confirm: undefined,
    targetDirectory: undefined,
    noTargetDirectory: undefined,
    onEvent: undefined,
    onWarning: undefined,
    signal: undefined,
    leftovers: undefined,
    stopBeforeNext: undefined,
    umask: undefined,
    tuning: undefined,
  };
  const filter: TraceFilter = { categories: undefined, everyOp: undefined };
  assert.equal(options.tuning?.commitBytes, 65536);
  assert.equal(move.tuning, undefined);
  // A filter whose fields are undefined is the default one.
  const tracer = new Tracer();
  const seen: string[] = [];
  tracer.subscribe(nfs4.filteredSink((e) => seen.push(e.category), filter));
  tracer.emit("ops", "READ ok");
  tracer.emit("state", "+LEASE_EXPIRED");
  assert.deepEqual(seen, ["state"]);
});

Deno.test("copy's tuning: an undefined value keeps DEFAULT_TUNING's, a given one replaces it (CopyRun, move's tuningWith)", () => {
  const run = new CopyRun({ connect: unreachable, onError: () => {}, tuning: ALL_UNDEFINED });
  assert.deepEqual(run.tuning, DEFAULT_TUNING);
  const some = new CopyRun({
    connect: unreachable,
    onError: () => {},
    tuning: { ...ALL_UNDEFINED, writeDepth: 8 },
  });
  assert.deepEqual(some.tuning, { ...DEFAULT_TUNING, writeDepth: 8 });
  assert.deepEqual(tuningWith(undefined), DEFAULT_TUNING);
  assert.deepEqual(tuningWith({ chunkSize: undefined, readDepth: 2 }), {
    ...DEFAULT_TUNING,
    readDepth: 2,
  });
  // DEFAULT_TUNING itself is never changed by a merge.
  assert.equal(DEFAULT_TUNING.readDepth, 4);
});

Deno.test("copy's preserve: a property left undefined is not kept, one given true is", () => {
  const run = new CopyRun({
    connect: unreachable,
    onError: () => {},
    preserve: { mode: true, ownership: undefined, timestamps: undefined, links: undefined },
  });
  assert.deepEqual(run.keep, { mode: true, ownership: false, timestamps: false, links: false });
});

Deno.test("copy() of a local file with every tuning value undefined copies it with the defaults", async () => {
  const dir = await Deno.makeTempDir({ prefix: "copy-undefined-tuning-" });
  try {
    // Larger than one default chunk (1 MiB): read and written in several.
    const data = new Uint8Array(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await Deno.writeFile(`${dir}/src.bin`, data);
    const errors: unknown[] = [];
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error("copy() did not finish in 20 s")), 20_000);
    let summary: nfs4.CopySummary;
    try {
      summary = await nfs4.copy(
        [nfs4.parseLocation(`${dir}/src.bin`)],
        nfs4.parseLocation(`${dir}/dst.bin`),
        {
          connect: unreachable,
          onError: (e) => errors.push(e),
          signal: stop.signal,
          tuning: ALL_UNDEFINED,
        },
      );
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(errors, []);
    assert.equal(summary.files, 1);
    assert.equal(summary.bytes, data.length);
    assert.deepEqual(await Deno.readFile(`${dir}/dst.bin`), data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mod.ts exports what a copy user names: Leftovers, DEFAULT_TUNING, PRESERVE_ALL and PRESERVE_P", () => {
  const leftovers = new nfs4.Leftovers();
  const held: nfs4.Leftover = leftovers.hold((stop) => new Error(`left: ${String(stop)}`));
  assert.equal(leftovers.size, 1);
  assert.deepEqual(leftovers.take("stop").map((e) => e.message), ["left: stop"]);
  held.drop();
  assert.equal(nfs4.DEFAULT_TUNING.chunkSize, 1024 * 1024);
  assert.equal(nfs4.PRESERVE_ALL.links, true);
  assert.equal(nfs4.PRESERVE_P.links, false);
  const options: nfs4.CopyOptions = {
    connect: unreachable,
    onError: () => {},
    leftovers,
    preserve: nfs4.PRESERVE_ALL,
  };
  assert.equal(options.leftovers, leftovers);
});

Deno.test("copy's tuning: a depth or chunk of 0, a negative, fractional or NaN size is a RangeError naming it; the byte thresholds may be 0", () => {
  for (
    const [overrides, name] of [
      [{ chunkSize: 0 }, "chunkSize"],
      [{ readDepth: -1 }, "readDepth"],
      [{ writeDepth: 0 }, "writeDepth"],
      [{ parallelFiles: 1.5 }, "parallelFiles"],
      [{ commitBytes: Number.NaN }, "commitBytes"],
      [{ smallFileBytes: -1 }, "smallFileBytes"],
    ] as const
  ) {
    assert.throws(() => tuningWith(overrides), (e: unknown) => {
      assert.ok(e instanceof RangeError, String(e));
      assert.match(e.message, new RegExp(`copy tuning ${name} must be an integer of at least`));
      return true;
    });
  }
  const zeros = tuningWith({ commitBytes: 0, smallFileBytes: 0, keptListingBytes: 0 });
  assert.equal(zeros.commitBytes, 0);
  assert.equal(zeros.smallFileBytes, 0);
  assert.equal(zeros.keptListingBytes, 0);
  assert.equal(zeros.chunkSize, DEFAULT_TUNING.chunkSize);
});
