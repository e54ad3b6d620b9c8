/**
 * A file system whose maxread and maxwrite are small (Ganesha's
 * `MaxRead = 3000; MaxWrite = 3000;`, RFC 7530 §5.8.2.20, §5.8.2.21: the
 * most one READ may ask for and one WRITE carry), through the scripted
 * NFSv4 server over TCP, on 4.0 and 4.1:
 *
 * - no READ asks for more than maxread and no WRITE carries more than
 *   maxwrite, down to 1024 (MIN_IO_SIZE, lib/client/byte_range.ts); below
 *   that, 1024, and the short answers are followed;
 * - a short READ is followed by a READ of the rest of its range alone, the
 *   READs past it kept (as Linux's nfs_readpage_retry): no byte comes back
 *   from the server twice, and a file takes about size / maxread READs;
 * - whatever the server answers short, at random, the bytes come out whole
 *   and in order, from `NfsFile.chunks()`, `readRange()` and the copy
 *   engine's `pipelinedRead()`.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { OpenFile } from "../../lib/client/api.ts";
import { ioSize, MIN_IO_SIZE, readRange } from "../../lib/client/byte_range.ts";
import { pipelinedRead } from "../../lib/client/copy/nfs_read.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import type { ReadArgs, ReadResult } from "../../lib/nfs4/ops/read.ts";
import type { WriteArgs } from "../../lib/nfs4/ops/write.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";

/** 300,001 bytes: the size of the audit's file, not a multiple of any READ size. */
const SIZE = 300_001;

function pattern(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 9)) & 0xff;
  return bytes;
}

/**
 * The scripted server with one maxread and maxwrite everywhere, which
 * answers a READ asking for more with `limit` bytes and a WRITE carrying
 * more by taking `limit` of them (short, as Ganesha does); `shorten`, when
 * set, cuts each READ further (a server short at random). It counts what
 * each READ asked for, each WRITE carried, and the bytes READs brought.
 */
class LimitedServer extends ScriptedServer {
  readonly limit: number;
  /** Cuts a READ of `count` bytes to what it returns (1..count); default: all of it. */
  shorten: ((count: number) => number) | undefined;
  readonly readCounts: number[] = [];
  readonly writeCounts: number[] = [];
  /** Bytes the READs answered with, all of them. */
  delivered = 0;

  constructor(limit: number, advertised = limit, options: ScriptedServerOptions = {}) {
    super({
      now: () => performance.now(),
      maxread: () => BigInt(advertised),
      maxwrite: () => BigInt(advertised),
      ...options,
    });
    this.limit = limit;
  }

  override handle(request: CompoundRequest, conn: number): CompoundReply {
    const ops = request.ops.map((op) => {
      if (op.name === "READ") {
        const args = op.args as ReadArgs;
        this.readCounts.push(args.count);
        let count = Math.min(args.count, this.limit);
        if (this.shorten && count > 0) count = Math.max(1, Math.min(count, this.shorten(count)));
        return { ...op, args: { ...args, count } };
      }
      if (op.name === "WRITE") {
        const args = op.args as WriteArgs;
        this.writeCounts.push(args.data.length);
        return { ...op, args: { ...args, data: args.data.subarray(0, this.limit) } };
      }
      return op;
    });
    const reply = super.handle({ ...request, ops }, conn);
    reply.outcomes.forEach((outcome) => {
      if (outcome.name === "READ" && outcome.status === S.NFS4_OK) {
        this.delivered += (outcome.value as ReadResult).data.length;
      }
    });
    return reply;
  }

  resetCounts(): void {
    this.readCounts.length = 0;
    this.writeCounts.length = 0;
    this.delivered = 0;
  }
}

async function withLimitedClient(
  server: LimitedServer,
  version: "4.0" | "4.1",
  fn: (client: Nfs4Client) => Promise<void>,
): Promise<void> {
  const nfs = await startScriptedNfsServer(server);
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      callback: false,
      clientId: `small-io-${crypto.randomUUID()}`,
    });
    try {
      await fn(client);
    } finally {
      await client.close();
    }
  } finally {
    await nfs.close();
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk.slice());
    size += chunk.length;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

Deno.test("ioSize(): a server's maxread/maxwrite down to 1024 exactly, below it 1024, absent or 0 the largest (RFC 7530 §5.8.2.20)", () => {
  const largest = 1024 * 1024;
  assert.equal(ioSize(undefined, largest), largest);
  assert.equal(ioSize(0n, largest), largest);
  assert.equal(ioSize(3000n, largest), 3000);
  assert.equal(ioSize(1024n, largest), 1024);
  assert.equal(ioSize(777n, largest), MIN_IO_SIZE);
  assert.equal(ioSize(1n, largest), MIN_IO_SIZE);
  assert.equal(ioSize(64n * 1024n * 1024n, largest), largest);
  assert.equal(ioSize(2n ** 64n - 1n, largest), largest);
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NfsFile ${version}, maxread = maxwrite = 3000 (RFC 7530 §5.8.2.20/21): no READ or WRITE above 3000, ${SIZE} bytes in about ${Math.ceil(SIZE / 3000)} of each, byte-exact`, async () => {
    const server = new LimitedServer(3000);
    const data = pattern(SIZE);
    server.addFile("/vfs/big", "");
    server.file("/vfs/big")!.data = data.slice();
    await withLimitedClient(server, version, async (client) => {
      const reader = await client.open("/vfs/big", { access: "read" });
      assert.equal(reader.rsize, 3000);
      server.resetCounts();
      const got = await collect(reader.chunks());
      await reader.close();
      assert.ok(got.length === SIZE && got.every((b, i) => b === data[i]), "byte-exact");
      assert.deepEqual(server.readCounts.filter((n) => n > 3000), [], "no READ above maxread");
      const least = Math.ceil(SIZE / 3000);
      assert.ok(
        server.readCounts.length <= least + 2,
        `${server.readCounts.length} READs for ${least} needed`,
      );
      assert.equal(server.delivered, SIZE, "no byte read twice");

      const writer = await client.open("/vfs/copy", { access: "write", create: "unchecked" });
      assert.equal(writer.wsize, 3000);
      server.resetCounts();
      await writer.write(0n, data);
      await writer.close();
      assert.deepEqual(server.writeCounts.filter((n) => n > 3000), [], "no WRITE above maxwrite");
      assert.ok(
        server.writeCounts.length <= least + 2,
        `${server.writeCounts.length} WRITEs for ${least} needed`,
      );
      const written = server.file("/vfs/copy")!.data;
      assert.ok(written.length === SIZE && written.every((b, i) => b === data[i]), "written exact");
    });
  });

  Deno.test(`NfsFile ${version}, maxread 777 (below 1024): READs of 1024, each answered short and the rest asked alone, byte-exact, no byte read twice`, async () => {
    const server = new LimitedServer(777);
    const data = pattern(50_001, 3);
    server.addFile("/vfs/f", "");
    server.file("/vfs/f")!.data = data.slice();
    await withLimitedClient(server, version, async (client) => {
      const reader = await client.open("/vfs/f", { access: "read" });
      assert.equal(reader.rsize, MIN_IO_SIZE);
      server.resetCounts();
      const got = await collect(reader.chunks());
      await reader.close();
      assert.ok(got.length === data.length && got.every((b, i) => b === data[i]), "byte-exact");
      assert.deepEqual(server.readCounts.filter((n) => n > MIN_IO_SIZE), []);
      assert.equal(server.delivered, data.length, "no byte read twice");
      // Each 1024 costs two READs (777 and the 247 left) at most.
      assert.ok(
        server.readCounts.length <= 2 * Math.ceil(data.length / MIN_IO_SIZE) + 2,
        `${server.readCounts.length} READs`,
      );
    });
  });

  Deno.test(`NfsFile ${version}: a server answering READs short at random (RFC 7530 §16.23.4) still gives every byte once, in order, through chunks(), readRange() and pipelinedRead()`, async () => {
    const server = new LimitedServer(1 << 20, 4096);
    server.addFile("/vfs/r", "");
    await withLimitedClient(server, version, async (client) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 40_000 }),
          fc.array(fc.nat(5000), { minLength: 1, maxLength: 40 }),
          fc.nat(1000),
          async (size, draws, seed) => {
            const data = pattern(size, seed);
            server.file("/vfs/r")!.data = data.slice();
            let i = 0;
            const loops: [
              string,
              (file: OpenFile & { rsize: number }) => AsyncIterable<Uint8Array>,
            ][] = [
              ["chunks", (file) => file.chunks()],
              ["readRange", (file) => readRange(file, 0n)],
              ["pipelinedRead", (file) => pipelinedRead(file, file.size, file.rsize, 4)],
            ];
            for (const [name, loop] of loops) {
              const file = await client.open("/vfs/r", { access: "read" });
              try {
                server.resetCounts();
                i = 0;
                server.shorten = (count) => 1 + (draws[i++ % draws.length]! % count);
                const got = await collect(loop(file));
                assert.equal(got.length, size, name);
                assert.ok(got.every((b, j) => b === data[j]), `${name}: byte-exact`);
                assert.equal(server.delivered, size, `${name}: no byte read twice`);
              } finally {
                server.shorten = undefined;
                await file.close();
              }
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}

Deno.test("NfsFile 4.1: a session granting 8 KiB requests and replies (RFC 8881 §18.36.3) still bounds READs and WRITEs below a larger maxread/maxwrite", async () => {
  const grant = { maxRequestSize: 8192, maxResponseSize: 8192 };
  const server = new LimitedServer(1 << 20, 1 << 20, { foreChannelGrant: grant });
  const data = pattern(40_000, 5);
  server.addFile("/vfs/s", "");
  server.file("/vfs/s")!.data = data.slice();
  await withLimitedClient(server, "4.1", async (client) => {
    const file = await client.open("/vfs/s", { access: "both" });
    // The session's size less room for the COMPOUND around the data.
    assert.equal(file.rsize, 8192 - 1024);
    assert.equal(file.wsize, 8192 - 1024);
    server.resetCounts();
    const got = await collect(file.chunks());
    assert.ok(got.length === data.length && got.every((b, i) => b === data[i]), "byte-exact");
    await file.write(0n, data);
    await file.close();
    assert.deepEqual(server.readCounts.filter((n) => n > 8192 - 1024), []);
    assert.deepEqual(server.writeCounts.filter((n) => n > 8192 - 1024), []);
  });
});
