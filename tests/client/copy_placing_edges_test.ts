/**
 * Edges of a copy's small file placed in its own COMPOUND on NFSv4.1
 * (`SEQUENCE PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH
 * PUTFH LINK REMOVE`, lib/state/small_create.ts `placeAs`, finished by
 * lib/client/copy/nfs_create.ts, nfs_side.ts and file.ts) that
 * tests/client/copy_small_create_test.ts leaves out, against the scripted
 * server over TCP, some through the fault proxy (tests/_fault_proxy.ts):
 *
 * - a reply that cannot be read past its CLOSE leaves the LINK unknown: the
 *   final name is looked up, never LINKed again (RFC 8881 §18.9, §2.10.6);
 * - a copy stopped before or during a placed file's COMMIT (a WRITE answered
 *   UNSTABLE4, RFC 8881 §18.32.3, §18.3): the COMMIT still decides whether
 *   the name stays, and a file whose name could not be taken back is said;
 * - the COMPOUND that takes the final name back (`PUTFH LOOKUP VERIFY PUTFH
 *   REMOVE`, §18.31) whose LOOKUP meets NFS4ERR_NOENT: gone when that
 *   answered a resend after a lost session (its first run removed it,
 *   §2.10.6.1.3), someone else's doing otherwise;
 * - the request size of the one COMPOUND with an owner to give (cp -p):
 *   the owner's and group's strings count against the session's
 *   ca_maxrequestsize (§18.36.3, §2.10.6.4: NFS4ERR_REQ_TOO_BIG otherwise).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import {
  copy,
  CopyError,
  type CopyOptions,
  type CopySummary,
  DEFAULT_TUNING,
  IncompleteCopyError,
  parseLocation,
} from "../../lib/client/copy/mod.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { withOperationSignal } from "../../lib/client/operation_scope.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import type { CompoundReply, CompoundRequest, OpOutcome } from "../../lib/nfs4/compound.ts";
import { Op, StableHow } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { CreateSessionResult } from "../../lib/nfs4/ops/create_session.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { type CompoundCall, FaultProxy } from "../_fault_proxy.ts";

// ------------------------------------------------------------------ fixtures

interface EdgeOptions extends ScriptedServerOptions {
  /**
   * The most CREATE_SESSION grants for the fore channel's
   * ca_maxrequestsize, whatever the client asks (RFC 8881 §18.36.3: the
   * server may answer with less).
   */
  readonly maxRequestSize?: number;
}

/**
 * The scripted server, with two ways a real one may differ: it holds the
 * fore channel's requests to `maxRequestSize`, and (a broken server) it can
 * name one op's result in a reply as another op's, so that the client
 * cannot read the reply from that op on ({@linkcode garbleNext}).
 */
class EdgeServer extends ScriptedServer {
  readonly maxRequestSize: number | undefined;
  #garble: string[] = [];

  constructor(options: EdgeOptions) {
    super(options);
    this.maxRequestSize = options.maxRequestSize;
  }

  /**
   * The next reply holding `op` (LINK or REMOVE, whose results are both a
   * change_info4) gives that op's result as the other's: what ran, ran;
   * the client's decoder stops there.
   */
  garbleNext(op: "LINK" | "REMOVE"): void {
    this.#garble.push(op);
  }

  override handle(request: CompoundRequest, conn: number): CompoundReply {
    const reply = super.handle(request, conn);
    return { ...reply, outcomes: reply.outcomes.map((o) => this.#rewrite(o)) };
  }

  #rewrite(outcome: OpOutcome): OpOutcome {
    const cap = this.maxRequestSize;
    if (outcome.name === "CREATE_SESSION" && outcome.status === S.NFS4_OK && cap !== undefined) {
      const result = outcome.value as CreateSessionResult;
      const fore = result.foreChannel;
      return {
        ...outcome,
        value: {
          ...result,
          foreChannel: { ...fore, maxRequestSize: Math.min(fore.maxRequestSize, cap) },
        },
      };
    }
    const at = this.#garble.indexOf(outcome.name);
    if (at < 0) return outcome;
    this.#garble.splice(at, 1);
    return { ...outcome, opnum: outcome.name === "LINK" ? Op.REMOVE : Op.LINK };
  }
}

interface Edge {
  readonly client: Nfs4Client;
  readonly server: EdgeServer;
  /** The trace's events, as `event (detail)`. */
  readonly events: string[];
  /** The proxy the client talks through, when asked for. */
  readonly proxy: FaultProxy | undefined;
  /** `nfs://HOST:PORT`, as the client reaches the server. */
  readonly url: string;
}

/**
 * Runs `fn` with an {@linkcode EdgeServer} holding /vfs/d/x on TCP, a 4.1
 * client of it (through a {@linkcode FaultProxy} with `proxy`, stopped by
 * `signal` as the CLI's clients are), and the trace; all closed after.
 */
async function withEdge(
  options: EdgeOptions,
  fn: (edge: Edge) => Promise<void>,
  how: { proxy?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const server = new EdgeServer({
    now: () => performance.now(),
    ...options,
    files: { "/vfs/d/x": "x", ...options.files },
  });
  const nfs = await startScriptedNfsServer(server);
  const proxyLog: string[] = [];
  const proxy = how.proxy
    ? await FaultProxy.start({
      target: { host: nfs.host, port: nfs.port },
      log: (line) => proxyLog.push(line),
    })
    : undefined;
  const events: string[] = [];
  try {
    const client = await Nfs4Client.connect({
      host: proxy?.host ?? nfs.host,
      port: proxy?.port ?? nfs.port,
      version: "4.1",
      clientId: `placing-edges-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(`${e.event} (${e.detail ?? ""})`),
      ...(how.signal ? { signal: how.signal } : {}),
    });
    try {
      await fn({ client, server, events, proxy, url: proxy?.url ?? nfs.url });
    } finally {
      await client.close();
    }
    assert.deepEqual(nfs.errors, [], "the scripted server itself failed");
  } finally {
    await proxy?.close();
    await nfs.close();
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (server: ScriptedServer, path: string) =>
  new TextDecoder().decode(server.file(path)?.data);

/** The names in /vfs/d that are a temporary of the copy's (`.NAME.nfs4-XXXXXX`). */
const temporaries = (server: ScriptedServer) =>
  [...server.file("/vfs/d")!.children.keys()].filter((n) => n.startsWith("."));

/** The op lists of the COMPOUNDs the server ran from `from` on (SEQUENCE left out). */
const shapesFrom = (server: ScriptedServer, from: number) =>
  server.log.slice(from).map((e) => e.ops.slice(1).join(" "));

const PLACED_IN_ONE =
  "PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE";

/** The COMPOUND that takes a placed file's final name back (small_create.ts unplace). */
const UNPLACE = "PUTFH LOOKUP VERIFY PUTFH REMOVE";

/** What one `copy()` did: its summary or what it threw, and what it reported. */
interface CopyOutcome {
  readonly summary?: CopySummary;
  readonly thrown?: unknown;
  readonly errors: unknown[];
  readonly copied: string[];
}

/**
 * `cp -n LOCAL nfs://…/vfs/d/NAME` (a new name: the file is placed only
 * while the name is free, RFC 8881 §18.9) of `data` through the copy engine,
 * with the edge's client; `extra` adds options (a stop signal).
 */
async function copyOne(
  edge: Edge,
  name: string,
  data: Uint8Array,
  extra: Partial<CopyOptions> = {},
): Promise<CopyOutcome> {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-placing-" });
  try {
    await Deno.writeFile(`${dir}/${name}`, data);
    const errors: unknown[] = [];
    const copied: string[] = [];
    const running = copy(
      [parseLocation(`${dir}/${name}`)],
      parseLocation(`${edge.url}/vfs/d/${name}`),
      {
        noClobber: true,
        connect: () => Promise.resolve(edge.client),
        onError: (e) => errors.push(e),
        onCopied: (_from, to) => void copied.push(to),
        ...extra,
      },
    );
    return await running.then(
      (summary) => ({ summary, errors, copied }),
      (thrown) => ({ thrown, errors, copied }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ------------------------------------------------------- 1. linked "unknown"

/**
 * One LINK only was sent from the server's log entry `before` on, and the
 * final name was looked up after it with `outcome` ("it was done", "not
 * done"); returns the COMPOUNDs' shapes.
 */
function assertOneLinkLookedUp(edge: Edge, before: number, outcome: string): string[] {
  const shapes = shapesFrom(edge.server, before);
  assert.equal(shapes.filter((s) => s.includes("LINK")).length, 1, shapes.join(" | "));
  assert.ok(
    edge.events.some((e) => e.startsWith("LINK outcome looked up (") && e.includes(outcome)),
    edge.events.join("\n"),
  );
  return shapes;
}

Deno.test('placeAs, a reply unreadable past its CLOSE (linked "unknown"): the final name is looked up (RFC 8881 §18.9 LINK, §2.10.6 nothing sent twice); it is this very file: counted copied, the temporary gone with the COMPOUND\'s REMOVE, no second LINK', async () => {
  await withEdge({}, async (edge) => {
    const { server } = edge;
    server.garbleNext("LINK");
    const before = server.log.length;
    const got = await copyOne(edge, "f", bytes("ours\n"));
    assert.equal(got.thrown, undefined, String(got.thrown));
    assert.deepEqual(got.errors, []);
    assert.equal(got.summary?.files, 1);
    assert.equal(got.summary?.skipped, 0);
    assert.deepEqual(got.copied, [`${edge.url}/vfs/d/f`]);
    const shapes = assertOneLinkLookedUp(edge, before, "it was done");
    assert.ok(shapes.includes(PLACED_IN_ONE), shapes.join(" | "));
    // The temporary's name went with the COMPOUND's REMOVE: none sent again.
    assert.equal(shapes.filter((s) => s.includes("REMOVE")).length, 1, shapes.join(" | "));
    assert.equal(text(server, "/vfs/d/f"), "ours\n");
    assert.deepEqual(temporaries(server), []);
    assert.deepEqual(server.opensOf("/vfs/d/f"), []);
  });
});

Deno.test('placeAs, a reply unreadable past its CLOSE (linked "unknown") whose LINK met the name taken (RFC 8881 §18.9 LINK -> NFS4ERR_EXIST, §16.2.3 the REMOVE never ran): the name is not this file, so the copy fails the file naming it, never LINKs again, leaves the other file alone and removes its temporary', async () => {
  await withEdge({}, async (edge) => {
    const { server } = edge;
    server.garbleNext("LINK");
    // Someone takes the name between the copy's look (cp -n) and its LINK.
    server.intercept("LINK", (_args, s) => void s.addFile("/vfs/d/f", "theirs\n"));
    const before = server.log.length;
    const got = await copyOne(edge, "f", bytes("ours\n"));
    assert.equal(got.thrown, undefined, String(got.thrown));
    assert.equal(got.summary?.files, 0);
    assert.equal(got.summary?.errors, 1);
    assert.deepEqual(got.copied, []);
    assert.equal(got.errors.length, 1);
    const error = got.errors[0];
    assert.ok(
      error instanceof CopyError && !(error instanceof IncompleteCopyError) &&
        error.message.includes(`cannot create regular file '${edge.url}/vfs/d/f'`) &&
        error.message.includes("the name is not this file"),
      String(error),
    );
    assertOneLinkLookedUp(edge, before, "not done");
    assert.equal(text(server, "/vfs/d/f"), "theirs\n");
    assert.deepEqual(temporaries(server), []);
  });
});

// ------------------------------------------- 2. a placed file's COMMIT, stopped

/** What stops `nfs4 cp` (cli/cp.ts): Ctrl-C. */
class Interrupted extends Error {
  constructor() {
    super("interrupted by SIGINT");
    this.name = "Interrupted";
  }
}

/**
 * A copy of /vfs/d/f stopped as `nfs4 cp` is by Ctrl-C: one signal stops
 * the copy (CopyOptions.signal), the work's soft stop (withOperationSignal:
 * nothing new sent) and the client (ConnectOptions.signal: a state change in
 * flight gets the release window). `arm(stop)` scripts the server, with
 * `stop()` to call where the stop comes. The server's WRITEs are answered
 * UNSTABLE4 (RFC 8881 §18.32.3): each placed file needs its COMMIT.
 */
async function stoppedCopy(
  arm: (server: EdgeServer, stop: () => void) => void,
  check: (edge: Edge, got: CopyOutcome, before: number) => void,
): Promise<void> {
  const controller = new AbortController();
  const reason = new Interrupted();
  await withEdge({}, async (edge) => {
    const { server } = edge;
    server.writeCommitted = StableHow.UNSTABLE4;
    arm(server, () => controller.abort(reason));
    const before = server.log.length;
    const got = await withOperationSignal(
      controller.signal,
      () => copyOne(edge, "f", bytes("ours\n"), { signal: controller.signal }),
    );
    assert.ok(controller.signal.aborted, "the stop came");
    assert.equal(got.thrown, reason, String(got.thrown));
    // Never said to be copied.
    assert.deepEqual(got.copied, []);
    check(edge, got, before);
  }, { signal: controller.signal });
}

Deno.test("placeAs, stopped while the placing COMPOUND is in flight (before its COMMIT): the COMPOUND is answered, the COMMIT (RFC 8881 §18.3) still goes out and finds the data durable, the name stays with the whole file; the copy ends stopped, the file never said copied and not taken back", async () => {
  await stoppedCopy(
    (server, stop) => server.intercept("LINK", () => void stop()),
    (edge, got, before) => {
      const shapes = shapesFrom(edge.server, before);
      const placing = shapes.indexOf(PLACED_IN_ONE);
      assert.ok(placing >= 0, shapes.join(" | "));
      assert.equal(shapes[placing + 1], "PUTFH COMMIT", shapes.join(" | "));
      assert.ok(!shapes.includes(UNPLACE), shapes.join(" | "));
      assert.equal(shapes.filter((s) => s.includes("LINK")).length, 1, shapes.join(" | "));
      assert.deepEqual(got.errors, []);
      assert.equal(text(edge.server, "/vfs/d/f"), "ours\n");
      assert.deepEqual(temporaries(edge.server), []);
    },
  );
});

Deno.test("placeAs, stopped during the placed file's COMMIT, which fails (RFC 8881 §18.3 COMMIT -> NFS4ERR_IO): the final name is still taken back after the stop (PUTFH LOOKUP VERIFY(fileid) PUTFH REMOVE, §18.31, §18.25), nothing of the copy's stays; the copy ends stopped, the file never said copied", async () => {
  await stoppedCopy(
    (server, stop) =>
      server.intercept("COMMIT", () => {
        stop();
        return S.NFS4ERR_IO;
      }),
    (edge, got, before) => {
      const shapes = shapesFrom(edge.server, before);
      const placing = shapes.indexOf(PLACED_IN_ONE);
      assert.deepEqual(shapes.slice(placing, placing + 3), [
        PLACED_IN_ONE,
        "PUTFH COMMIT",
        UNPLACE,
      ]);
      // Taken back: nothing to say beside the stop.
      assert.deepEqual(got.errors, []);
      assert.equal(edge.server.file("/vfs/d/f"), undefined);
      assert.deepEqual(temporaries(edge.server), []);
    },
  );
});

Deno.test("placeAs, stopped during the placed file's COMMIT, whose verifier changed (RFC 8881 §18.3.3: the server restarted, the data may be lost) and whose final name cannot be taken back (REMOVE -> NFS4ERR_IO, §18.25): the stop does not hide it, the copy says the destination is incomplete (IncompleteCopyError) besides ending stopped", async () => {
  await stoppedCopy(
    (server, stop) => {
      server.intercept("COMMIT", (_args, s) => {
        stop();
        s.writeVerifier = crypto.getRandomValues(new Uint8Array(8));
      });
      // The first REMOVE is the placing COMPOUND's (the temporary's name).
      server.failNext("REMOVE", S.NFS4ERR_IO, { after: 1 });
    },
    (edge, got, before) => {
      const shapes = shapesFrom(edge.server, before);
      const placing = shapes.indexOf(PLACED_IN_ONE);
      assert.deepEqual(shapes.slice(placing, placing + 3), [
        PLACED_IN_ONE,
        "PUTFH COMMIT",
        UNPLACE,
      ]);
      // Still there under its final name, its data not known durable:
      assert.equal(text(edge.server, "/vfs/d/f"), "ours\n");
      // ... and said so, as an overwrite in place stopped part way is (file.ts copyInPlace).
      assert.ok(
        got.errors.some((e) =>
          e instanceof IncompleteCopyError && e.destination === `${edge.url}/vfs/d/f`
        ),
        `reported: ${got.errors.map(String).join(" | ") || "nothing"}`,
      );
    },
  );
});

Deno.test("a large new file (the ordinary writer, not placed in one COMPOUND), stopped while its last COMMIT's reply is slow (RFC 8881 §18.3): the temporary's REMOVE (§18.25) goes out at once, beside the wait for that finish, within the client's release window: no temporary is left", async () => {
  const controller = new AbortController();
  const reason = new Interrupted();
  await withEdge({}, async (edge) => {
    const { server, proxy } = edge;
    server.writeCommitted = StableHow.UNSTABLE4;
    // Stopped when the server runs the COMMIT; its reply comes 3 s later,
    // after the client's 1.5 s release window has ended.
    server.intercept("COMMIT", () => void controller.abort(reason));
    proxy!.delayReply("COMMIT", 3_000);
    const data = new Uint8Array(200 * 1024).map((_, i) => i % 251);
    const got = await withOperationSignal(
      controller.signal,
      () => copyOne(edge, "big", data, { signal: controller.signal }),
    );
    assert.equal(got.thrown, reason, String(got.thrown));
    assert.deepEqual(got.copied, []);
    assert.deepEqual(got.errors, []);
    const removes = server.log.filter((e) => e.ops.includes("REMOVE"));
    assert.equal(removes.length, 1, server.log.map((e) => e.ops.join(",")).join(" | "));
    assert.equal(removes[0]!.status, S.NFS4_OK);
    assert.deepEqual(temporaries(server), []);
    assert.equal(server.file("/vfs/d/big"), undefined);
  }, { proxy: true, signal: controller.signal });
});

// ------------------------------------- 3. unplace, and a LOOKUP that meets NOENT

/**
 * The file failed with its COMMIT's NFS4ERR_IO, alone, and not as a
 * destination left incomplete: nothing said copied.
 */
function assertFailedByCommit(got: CopyOutcome): void {
  assert.equal(got.summary?.files, 0);
  assert.equal(got.summary?.errors, 1);
  assert.deepEqual(got.copied, []);
  const error = got.errors[0];
  assert.ok(
    error instanceof NfsError && error.op === "COMMIT" && error.status === S.NFS4ERR_IO,
    String(error),
  );
  assert.ok(!got.errors.some((e) => e instanceof IncompleteCopyError), got.errors.join(" | "));
}

/** Whether a COMPOUND the proxy saw is the one that takes a final name back. */
const isUnplace = (call: CompoundCall) => call.ops.slice(1).join(" ") === UNPLACE;

Deno.test("placeAs, a placed file's COMMIT failed and the COMPOUND taking its name back lost its reply and then its session (RFC 8881 §2.10.6.1.3): sent again on the new session, its LOOKUP's NFS4ERR_NOENT answers a resend, so the name is gone (its first run's REMOVE, §18.25): the copy fails the file with the COMMIT's status, not as incomplete", async () => {
  await withEdge({}, async (edge) => {
    const { server, events, proxy } = edge;
    server.writeCommitted = StableHow.UNSTABLE4;
    server.failNext("COMMIT", S.NFS4ERR_IO);
    // Its first run removes the name; the reply is lost with the connection,
    // and the server restarts before the resend (the session is lost).
    const lost = proxy!.dropReplyAndCut("VERIFY", { match: isUnplace });
    void lost.firstFired.then(() => server.reboot({ grace: false }));
    const got = await copyOne(edge, "f", bytes("ours\n"));
    assert.equal(got.thrown, undefined, String(got.thrown));
    assert.equal(lost.fired, 1);
    const unplaces = proxy!.compounds.filter(isUnplace);
    assert.ok(unplaces.length >= 2, `${unplaces.length} sent`);
    assert.equal(unplaces[0]!.reply?.fate, "cut");
    // Run (the name removed), then met the lost session, then run anew: NOENT.
    assert.deepEqual(
      server.log.filter((e) => e.ops.slice(1).join(" ") === UNPLACE).map((e) => e.status),
      [S.NFS4_OK, S.NFS4ERR_BADSESSION, S.NFS4ERR_NOENT],
    );
    assertFailedByCommit(got);
    assert.ok(
      events.some((e) => e.startsWith("placed file taken back (")),
      events.filter((e) => e.startsWith("placed")).join("\n"),
    );
    assert.equal(server.file("/vfs/d/f"), undefined);
    assert.deepEqual(temporaries(server), []);
  }, { proxy: true });
});

Deno.test("placeAs, a placed file's COMMIT failed and the COMPOUND taking its name back met NFS4ERR_NOENT at its LOOKUP answering its first transmission (RFC 8881 §18.13 LOOKUP, §2.10.6: not a resend): the name is not ours (someone removed it), nothing is removed; the copy fails the file with the COMMIT's status, not as incomplete", async () => {
  await withEdge({}, async (edge) => {
    const { server, events, proxy } = edge;
    server.writeCommitted = StableHow.UNSTABLE4;
    server.intercept("COMMIT", (_args, s) => {
      s.file("/vfs/d")!.children.delete("f");
      return S.NFS4ERR_IO;
    });
    const got = await copyOne(edge, "f", bytes("ours\n"));
    assert.equal(got.thrown, undefined, String(got.thrown));
    assert.equal(proxy!.compounds.filter(isUnplace).length, 1);
    assert.deepEqual(
      server.log.filter((e) => e.ops.slice(1).join(" ") === UNPLACE).map((e) => e.status),
      [S.NFS4ERR_NOENT],
    );
    assertFailedByCommit(got);
    assert.ok(
      events.some((e) => e.startsWith("placed file's name no longer its own (")),
      events.filter((e) => e.startsWith("placed")).join("\n"),
    );
    assert.ok(!events.some((e) => e.startsWith("placed file taken back (")));
  }, { proxy: true });
});

// ---------------------------------------- 4. the owner's strings and the request size

/** The fore channel's ca_maxrequestsize the server grants in the test below. */
const MAX_REQUEST = 16 * 1024;

/** An owner and group as long as `user@domain` strings get (cp -p to a server with idmapping). */
const LONG_OWNER = `${"u".repeat(240)}@example.org`;
const LONG_GROUP = `${"g".repeat(240)}@example.org`;

/**
 * A new file given an owner (cp -p) and placed (cp -n) through NfsSide, as
 * file.ts does: the COMPOUNDs the proxy saw for it, with their sizes.
 */
async function ownedPlaced(
  side: NfsSide,
  proxy: FaultProxy,
  name: string,
  size: number,
  owner: string,
  group: string,
): Promise<CompoundCall[]> {
  const data = new Uint8Array(size).fill(0x61);
  const before = proxy.compounds.length;
  const writer = await side.create(`/vfs/d/.${name}.tmp`, { placeAs: `/vfs/d/${name}` });
  await writer.chown(owner, group, () => Promise.reject(new Error("no refusal expected")));
  await writer.write(data);
  await writer.finish({ mode: 0o640 }, BigInt(size));
  assert.equal(await side.renameNoReplace(`/vfs/d/.${name}.tmp`, `/vfs/d/${name}`, writer), true);
  return proxy.compounds.slice(before);
}

const OWNED_IN_ONE =
  "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE";

Deno.test("the one COMPOUND with an owner to give (cp -p) counts the owner's and group's strings against the session's ca_maxrequestsize (RFC 8881 §18.36.3, §2.10.6.4 NFS4ERR_REQ_TOO_BIG): a file that fits with short names goes in one, the same file with long user@domain names the ordinary way (OPEN, then the rest); no request sent is larger than the session allows", async () => {
  await withEdge({ maxRequestSize: MAX_REQUEST }, async ({ client, server, proxy }) => {
    const session = client.manager.client.session;
    assert.equal(
      session?.fore.maxRequestSize,
      MAX_REQUEST,
      "the server's grant is the client's limit",
    );
    const url = parseNfsUrl(`${proxy!.url}/vfs/d`);
    const side = new NfsSide(client, url, DEFAULT_TUNING, () => {});
    const shapes = (calls: CompoundCall[]) => calls.map((c) => c.ops.slice(1).join(" "));
    // Data that leaves 600 bytes of the session's requests beside the room
    // the client keeps for the rest of the COMPOUND (small_create.ts
    // REQUEST_ROOM, 4096): enough for short names, not for two of 252.
    const size = MAX_REQUEST - 4096 - 600;
    const short = await ownedPlaced(side, proxy!, "short", size, "4242", "777");
    assert.deepEqual(shapes(short).filter((s) => s.includes("OPEN")), [OWNED_IN_ONE]);
    const long = await ownedPlaced(side, proxy!, "long", size, LONG_OWNER, LONG_GROUP);
    const longShapes = shapes(long);
    assert.ok(!longShapes.includes(OWNED_IN_ONE), longShapes.join(" | "));
    assert.deepEqual(longShapes.filter((s) => s.includes("OPEN")), ["PUTFH OPEN GETFH GETATTR"]);
    // The ordinary way gives the owner and the data all the same.
    const setattrs = server.log.filter((e) => e.ops.includes("SETATTR")).flatMap((e) =>
      e.ops.flatMap((op, i) =>
        op === "SETATTR" ? [(e.args[i] as { attrs: Record<string, unknown> }).attrs] : []
      )
    );
    assert.ok(
      setattrs.some((a) => a.owner === LONG_OWNER && a.ownerGroup === LONG_GROUP),
      "the long owner given",
    );
    assert.equal(server.file("/vfs/d/long")!.data.length, size);
    assert.equal(server.file("/vfs/d/short")!.data.length, size);
    // More than one WRITE of this session holds: WRITEs cut to its requests.
    const large = await ownedPlaced(side, proxy!, "large", 40_000, LONG_OWNER, LONG_GROUP);
    assert.ok(
      shapes(large).filter((s) => s.includes("WRITE")).length >= 3,
      shapes(large).join(" | "),
    );
    assert.equal(server.file("/vfs/d/large")!.data.length, 40_000);
    // Nothing the client sent was larger than the session's requests may be
    // (the RPC message, header and credential included, §18.36.3).
    const largest = Math.max(...proxy!.compounds.map((c) => c.bytes));
    assert.ok(largest <= MAX_REQUEST, `a request of ${largest} bytes`);
    assert.ok(
      largest > MAX_REQUEST - 2048,
      `the largest request, ${largest} bytes, near the limit`,
    );
  }, { proxy: true });
});

// ------------------------------------------------------------- 5. in place

/**
 * `cp --inplace LOCAL nfs://…/vfs/d/f` over the existing f, stopped when
 * the server runs the op `stopAt` (an OPEN or CLOSE, a state change, gets
 * the client's release window to be answered).
 */
async function stoppedInPlace(
  stopAt: "CLOSE" | "WRITE",
  check: (edge: Edge, got: CopyOutcome & { warnings: string[] }) => void,
  extra: Partial<CopyOptions> = {},
): Promise<void> {
  const controller = new AbortController();
  const reason = new Interrupted();
  await withEdge({ files: { "/vfs/d/f": "the old contents, longer\n" } }, async (edge) => {
    // The first OPEN and CLOSE look the file over (cp's checks) before it is
    // opened to be written.
    edge.server.intercept(stopAt, () => void controller.abort(reason), {
      after: stopAt === "CLOSE" ? 1 : 0,
    });
    const warnings: string[] = [];
    const got = await withOperationSignal(
      controller.signal,
      () =>
        copyOne(edge, "f", bytes("ours\n"), {
          signal: controller.signal,
          noClobber: false,
          inplace: true,
          onWarning: (message) => warnings.push(message),
          ...extra,
        }),
    );
    assert.ok(controller.signal.aborted, "the stop came");
    assert.equal(got.thrown, reason, String(got.thrown));
    assert.deepEqual(got.copied, [], "never said copied");
    assert.deepEqual(edge.server.opensOf("/vfs/d/f"), [], "closed");
    check(edge, { ...got, warnings });
  }, { signal: controller.signal });
}

Deno.test("cp --inplace, stopped while the file's CLOSE is in flight (RFC 8881 §18.2): the CLOSE, a state change, is answered in the release window and the finish with it; the file is whole, so it is not said to be incomplete", async () => {
  await stoppedInPlace("CLOSE", (edge, got) => {
    assert.equal(text(edge.server, "/vfs/d/f"), "ours\n");
    assert.deepEqual(got.errors, [], got.errors.map(String).join(" | "));
    assert.deepEqual(got.warnings, [], "no attributes were asked for");
  });
});

Deno.test("cp -p --inplace, stopped while the file's CLOSE is in flight: the file is whole, and the warning says its mode and times were not set (the copy stopped before them)", async () => {
  await stoppedInPlace("CLOSE", (edge, got) => {
    assert.equal(text(edge.server, "/vfs/d/f"), "ours\n");
    assert.deepEqual(got.errors, [], got.errors.map(String).join(" | "));
    assert.deepEqual(got.warnings, [
      `${edge.url}/vfs/d/f: its data copied whole, but stopped before its attributes were set`,
    ]);
  }, { preserve: true });
});

Deno.test("cp --inplace, stopped while the file's data is being written (RFC 8881 §18.32): the file, emptied and not finished, is said to be incomplete", async () => {
  await stoppedInPlace("WRITE", (edge, got) => {
    assert.ok(
      got.errors.some((e) =>
        e instanceof IncompleteCopyError && e.destination === `${edge.url}/vfs/d/f`
      ),
      `reported: ${got.errors.map(String).join(" | ") || "nothing"}`,
    );
  });
});

Deno.test("a small new file whose one COMPOUND is refused at its OPEN (NFS4ERR_ACCESS; NFS4ERR_GRACE alike, RFC 8881 §18.16.3) made nothing: no REMOVE of a temporary that was never there (it waited out the same GRACE before the command could end)", async () => {
  await withEdge({}, async (edge) => {
    const { server } = edge;
    const before = server.log.length;
    server.failNext("OPEN", S.NFS4ERR_ACCESS);
    const got = await copyOne(edge, "refused", new TextEncoder().encode("r\n"));
    assert.equal(got.errors.length, 1, String(got.errors));
    const error = got.errors[0];
    assert.ok(error instanceof NfsError && error.status === S.NFS4ERR_ACCESS, String(error));
    // The one COMPOUND ends with its own REMOVE; no other is sent.
    const shapes = shapesFrom(server, before);
    assert.ok(!shapes.some((s) => s.includes("REMOVE") && !s.includes("OPEN")), shapes.join(" | "));
    assert.deepEqual(temporaries(server), []);
  });
});
