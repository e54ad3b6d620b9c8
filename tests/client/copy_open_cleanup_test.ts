/**
 * What a copy's opens leave when the request after the OPEN fails or is
 * stopped, against the scripted server over TCP (lib/client/client.ts
 * #openIn, lib/client/copy/file.ts, nfs_side.ts):
 *
 * - NFSv4.0 makes a temporary with EXCLUSIVE4, which carries no attributes,
 *   and sets its mode with a SETATTR after (RFC 7530 §16.16.5). When that
 *   SETATTR fails, or the stop keeps it from being sent, the temporary the
 *   OPEN made is closed and removed (`PUTFH LOOKUP VERIFY(fileid) PUTFH
 *   REMOVE`, §16.35, §16.26); one that cannot be removed is named.
 * - An overwrite in place (`--inplace`, or a file with several links) opens
 *   the file without create, then empties it with a SETATTR of size 0
 *   (RFC 7530 §16.32, RFC 8881 §18.30). Once that SETATTR may have run, a
 *   failure or a stop says the destination is incomplete; a stop before it
 *   leaves the file as it was. Either way the open is closed.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import {
  copy,
  CopyError,
  type CopyOptions,
  type CopySummary,
  IncompleteCopyError,
  parseLocation,
} from "../../lib/client/copy/mod.ts";
import { withOperationSignal } from "../../lib/client/operation_scope.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";

type Version = "4.0" | "4.1";

/** What stops `nfs4 cp` (cli/cp.ts): Ctrl-C. */
class Interrupted extends Error {
  constructor() {
    super("interrupted by SIGINT");
    this.name = "Interrupted";
  }
}

interface Setup {
  readonly client: Nfs4Client;
  readonly server: ScriptedServer;
  /** `nfs://HOST:PORT`. */
  readonly url: string;
}

/**
 * Runs `fn` with a scripted server holding /vfs/d/f (`OLD`) and a client
 * of `version` (stopped by `signal`, as the CLI's clients are); both closed
 * after.
 */
async function withServer(
  version: Version,
  fn: (setup: Setup) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const server = new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/d/f": OLD },
  });
  const nfs = await startScriptedNfsServer(server);
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `open-cleanup-${crypto.randomUUID()}`,
      ...(signal ? { signal } : {}),
    });
    try {
      await fn({ client, server, url: nfs.url });
    } finally {
      await client.close();
    }
    assert.deepEqual(nfs.errors, [], "the scripted server itself failed");
  } finally {
    await nfs.close();
  }
}

const OLD = "the old contents, which must not be lost unsaid\n";
const text = (server: ScriptedServer, path: string) =>
  new TextDecoder().decode(server.file(path)?.data);

/** The names in /vfs/d that are a temporary of the copy's (`.NAME.nfs4-XXXXXX`). */
const temporaries = (server: ScriptedServer) =>
  [...server.file("/vfs/d")!.children.keys()].filter((n) => n.startsWith("."));

/** The op lists of the COMPOUNDs the server ran from `from` on (SEQUENCE left out). */
const shapesFrom = (server: ScriptedServer, from: number) =>
  server.log.slice(from).map((e) => e.ops.filter((op) => op !== "SEQUENCE").join(" "));

/** What one `copy()` did: its summary or what it threw, and what it reported. */
interface CopyOutcome {
  readonly summary?: CopySummary;
  readonly thrown?: unknown;
  readonly errors: unknown[];
  readonly copied: string[];
}

/** `cp LOCAL nfs://…/vfs/d/NAME` of `data` through the copy engine; `extra` adds options. */
async function copyOne(
  setup: Setup,
  name: string,
  data: string,
  extra: Partial<CopyOptions> = {},
): Promise<CopyOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-open-cleanup-" });
  try {
    await Deno.writeTextFile(`${dir}/${name}`, data);
    const errors: unknown[] = [];
    const copied: string[] = [];
    return await copy(
      [parseLocation(`${dir}/${name}`)],
      parseLocation(`${setup.url}/vfs/d/${name}`),
      {
        connect: () => Promise.resolve(setup.client),
        onError: (e) => errors.push(e),
        onCopied: (_from, to) => void copied.push(to),
        ...extra,
      },
    ).then(
      (summary) => ({ summary, errors, copied }),
      (thrown) => ({ thrown, errors, copied }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A copy stopped as `nfs4 cp` is by Ctrl-C: one signal stops the copy
 * (CopyOptions.signal), the work's soft stop (withOperationSignal: nothing
 * new sent) and the client (ConnectOptions.signal). `arm(server, stop)`
 * scripts where the stop comes.
 */
async function stopped(
  version: Version,
  arm: (server: ScriptedServer, stop: () => void) => void,
  run: (setup: Setup, signal: AbortSignal) => Promise<CopyOutcome>,
  check: (setup: Setup, got: CopyOutcome, before: number) => void,
  after?: (setup: Setup) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const reason = new Interrupted();
  await withServer(version, async (setup) => {
    arm(setup.server, () => controller.abort(reason));
    const before = setup.server.log.length;
    const got = await withOperationSignal(controller.signal, () => run(setup, controller.signal));
    assert.ok(controller.signal.aborted, "the stop came");
    assert.equal(got.thrown, reason, String(got.thrown));
    assert.deepEqual(got.copied, [], "never said copied");
    check(setup, got, before);
    await after?.(setup);
  }, controller.signal);
}

/** Waits (at most 3 s) until `holds()`, else fails saying `what`. */
async function eventually(holds: () => boolean, what: string): Promise<void> {
  for (const start = Date.now(); !holds(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - start > 3000) assert.fail(`not ${what} within 3 s`);
  }
}

/** The only error reported is an IncompleteCopyError naming /vfs/d/f. */
function assertIncomplete(setup: Setup, got: CopyOutcome): IncompleteCopyError {
  const error = got.errors[0];
  assert.equal(got.errors.length, 1, got.errors.map(String).join(" | "));
  assert.ok(error instanceof IncompleteCopyError, String(error));
  assert.equal(error.destination, `${setup.url}/vfs/d/f`);
  return error;
}

// ---------------------------------- 1. NFSv4.0: the temporary's mode, after EXCLUSIVE4

Deno.test("NFSv4.0 EXCLUSIVE4 (RFC 7530 §16.16.5), the SETATTR of the new temporary's mode fails (§16.32 -> NFS4ERR_IO): the temporary the OPEN made is closed and removed while its name is still it (PUTFH LOOKUP VERIFY(fileid) PUTFH REMOVE, §16.35, §16.26); the copy fails the file with the SETATTR's status", async () => {
  await withServer("4.0", async (setup) => {
    const { server } = setup;
    server.failNext("SETATTR", S.NFS4ERR_IO);
    const before = server.log.length;
    const got = await copyOne(setup, "new", "ours\n");
    assert.equal(got.thrown, undefined, String(got.thrown));
    assert.equal(got.summary?.errors, 1);
    const error = got.errors[0];
    assert.ok(
      error instanceof NfsError && error.op === "SETATTR" && error.status === S.NFS4ERR_IO,
      String(error),
    );
    assert.equal(error.path, `${setup.url}/vfs/d/new`, "named as the destination");
    assert.ok(
      shapesFrom(server, before).includes("PUTFH LOOKUP VERIFY PUTFH REMOVE"),
      shapesFrom(server, before).join(" | "),
    );
    assert.deepEqual(temporaries(server), [], "no temporary left");
    assert.equal(server.file("/vfs/d/new"), undefined);
    for (const name of server.file("/vfs/d")!.children.keys()) {
      assert.deepEqual(server.opensOf(`/vfs/d/${name}`), [], `${name} closed`);
    }
  });
});

Deno.test("NFSv4.0 EXCLUSIVE4 (RFC 7530 §16.16.5), stopped while the OPEN that makes the temporary is in flight: the OPEN is answered, the SETATTR of its mode is not sent after the stop, and the temporary is closed and removed (§16.26); the copy ends stopped with nothing to report", async () => {
  await stopped(
    "4.0",
    (server, stop) => server.intercept("OPEN", () => void stop()),
    (setup, signal) => copyOne(setup, "new", "ours\n", { signal }),
    ({ server }, got, before) => {
      const shapes = shapesFrom(server, before);
      assert.ok(!shapes.some((s) => s.includes("SETATTR")), shapes.join(" | "));
      assert.deepEqual(got.errors, [], got.errors.map(String).join(" | "));
      assert.deepEqual(temporaries(server), [], `no temporary left: ${shapes.join(" | ")}`);
    },
  );
});

Deno.test("NFSv4.0 EXCLUSIVE4 (RFC 7530 §16.16.5), the SETATTR of the temporary's mode fails and so does its REMOVE (§16.26 -> NFS4ERR_IO): the copy's error names the temporary left on the server", async () => {
  await withServer("4.0", async (setup) => {
    const { server } = setup;
    server.failNext("SETATTR", S.NFS4ERR_IO);
    server.failNext("REMOVE", S.NFS4ERR_IO);
    const got = await copyOne(setup, "new", "ours\n");
    assert.equal(got.thrown, undefined, String(got.thrown));
    const left = temporaries(server);
    assert.equal(left.length, 1, "the temporary stays");
    const error = got.errors[0];
    assert.ok(error instanceof CopyError, String(error));
    assert.equal(
      error.message,
      `${setup.url}/vfs/d/new: Input/output error (NFS4ERR_IO); its temporary ` +
        `${setup.url}/vfs/d/${left[0]} is left on the server (not removed, for the same reason)`,
    );
    assert.deepEqual(server.opensOf(`/vfs/d/${left[0]}`), [], "closed");
  });
});

// ------------------------------------- 2. in place: the SETATTR that empties the file

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`cp --inplace (NFSv${version}), stopped while the SETATTR of size 0 that empties the file is in flight (RFC 7530 §16.32, RFC 8881 §18.30: a state change the server runs): the file, emptied, is said to be incomplete, and its open is closed`, async () => {
    await stopped(
      version,
      (server, stop) => server.intercept("SETATTR", () => void stop()),
      (setup, signal) => copyOne(setup, "f", "ours\n", { signal, inplace: true, noClobber: false }),
      (setup, got) => {
        assert.equal(text(setup.server, "/vfs/d/f"), "", "emptied");
        const error = assertIncomplete(setup, got);
        assert.equal(
          error.message,
          `${setup.url}/vfs/d/f: copy failed part-way, destination is incomplete: interrupted by SIGINT`,
        );
        assert.deepEqual(setup.server.opensOf("/vfs/d/f"), [], "closed");
      },
    );
  });

  Deno.test(`cp --inplace (NFSv${version}), the SETATTR of size 0 that empties the file fails (RFC 7530 §16.32, RFC 8881 §18.30 -> NFS4ERR_IO): the destination is said to be incomplete (it may have run), and its open is closed`, async () => {
    await withServer(version, async (setup) => {
      const { server } = setup;
      server.failNext("SETATTR", S.NFS4ERR_IO);
      const got = await copyOne(setup, "f", "ours\n", { inplace: true });
      assert.equal(got.thrown, undefined, String(got.thrown));
      assert.equal(got.summary?.errors, 1);
      const error = assertIncomplete(setup, got);
      assert.ok(error.cause instanceof NfsError && error.cause.op === "SETATTR", String(error));
      assert.deepEqual(server.opensOf("/vfs/d/f"), [], "closed");
    });
  });

  Deno.test(`cp --inplace (NFSv${version}), stopped while the OPEN of the file to write is in flight (RFC 7530 §16.16, RFC 8881 §18.16: no create, no data changed): no SETATTR of size 0 goes after the stop, the file keeps its data, nothing is said incomplete, and the open is closed`, async () => {
    await stopped(
      version,
      // The first OPEN and CLOSE look the file over (cp's checks).
      (server, stop) => server.intercept("OPEN", () => void stop(), { after: 1 }),
      (setup, signal) => copyOne(setup, "f", "ours\n", { signal, inplace: true, noClobber: false }),
      ({ server }, got, before) => {
        const shapes = shapesFrom(server, before);
        assert.ok(!shapes.some((s) => s.includes("SETATTR")), shapes.join(" | "));
        assert.equal(text(server, "/vfs/d/f"), OLD);
        assert.deepEqual(got.errors, [], got.errors.map(String).join(" | "));
      },
      // Answered after the copy stopped waiting for it: closed once it is.
      async ({ server }) =>
        await eventually(() => server.opensOf("/vfs/d/f").length === 0, "closed"),
    );
  });
}
