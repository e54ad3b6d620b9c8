/**
 * readInOrder() (lib/client/many_files.ts): files opened ahead, delivered in
 * order with their failures, bounded, every open closed, opens and closes
 * never at once.
 */
import assert from "node:assert/strict";
import { type OrderedSource, readInOrder } from "../../lib/client/many_files.ts";

interface FakeFile {
  readonly name: string;
  readonly data?: Uint8Array;
  /** Fails to open with this message. */
  readonly openError?: string;
  /** Fails after this many chunks. */
  readonly readErrorAfter?: number;
  /** Size reported at open (default: the data's). */
  readonly size?: bigint;
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A world of files whose opens take random time; it records what happens. */
function world(chunkSize = 3) {
  const log = { open: 0, closed: 0, maxOpenCalls: 0, overlap: false, opened: [] as string[] };
  let opening = 0;
  let closing = 0;
  const open = async (file: FakeFile): Promise<OrderedSource> => {
    opening++;
    if (closing > 0) log.overlap = true;
    log.maxOpenCalls = Math.max(log.maxOpenCalls, opening);
    try {
      await delay(Math.random() * 5);
      if (file.openError) throw new Error(file.openError);
      log.open++;
      log.opened.push(file.name);
    } finally {
      opening--;
    }
    const data = file.data ?? new Uint8Array();
    let closed = false;
    return {
      size: file.size ?? BigInt(data.length),
      async *chunks() {
        // One buffer for every chunk, as a reader may reuse its buffer.
        const buffer = new Uint8Array(chunkSize);
        let n = 0;
        for (let at = 0; at < data.length; at += chunkSize) {
          if (file.readErrorAfter !== undefined && n++ >= file.readErrorAfter) {
            throw new Error(`${file.name}: read failed`);
          }
          await delay(Math.random() * 2);
          const piece = data.subarray(at, at + chunkSize);
          buffer.set(piece);
          yield buffer.subarray(0, piece.length);
        }
      },
      async close() {
        closing++;
        if (opening > 0) log.overlap = true;
        await delay(Math.random() * 2);
        closing--;
        if (!closed) {
          closed = true;
          log.closed++;
        }
      },
    };
  };
  return { open, log };
}

/** What a sink saw: text written and failures, in order. */
function recorder(options: { stopAt?: string } = {}) {
  const events: string[] = [];
  let text = "";
  return {
    events,
    get text() {
      return text;
    },
    sink: {
      async write(chunk: Uint8Array) {
        await delay(Math.random() * 2);
        // Copied at once: the chunk is only lent.
        const piece = new TextDecoder().decode(chunk);
        text += piece;
        events.push(`data ${piece}`);
      },
      failed(file: FakeFile, error: unknown) {
        events.push(`failed ${file.name}: ${(error as Error).message}`);
        if (file.name === options.stopAt) throw new Error("stop");
      },
    },
  };
}

Deno.test("readInOrder delivers many small files in order, whatever order they open in", async () => {
  const files = Array.from({ length: 60 }, (_, i) => ({
    name: `f${i}`,
    data: bytes(`<${i}:${"x".repeat(i % 7)}>`),
  }));
  const { open, log } = world();
  const out = recorder();
  await readInOrder(files, open, out.sink, { ahead: 8 });
  assert.equal(out.text, files.map((f) => new TextDecoder().decode(f.data)).join(""));
  assert.equal(log.open, 60);
  assert.equal(log.closed, 60, "every file closed");
  assert.ok(log.maxOpenCalls > 1, "several opens at once");
  assert.ok(log.maxOpenCalls <= 9, `at most ahead + 1 opening: ${log.maxOpenCalls}`);
  assert.equal(log.overlap, false, "no CLOSE while an OPEN is in flight, nor the reverse");
});

Deno.test("readInOrder reports failures in their place, after the output before them", async () => {
  const files: FakeFile[] = [
    { name: "a", data: bytes("aaaa") },
    { name: "missing", openError: "no such file" },
    { name: "b", data: bytes("bbbbbbb") },
    { name: "broken", data: bytes("123456789"), readErrorAfter: 2 },
    { name: "c", data: bytes("c") },
  ];
  const { open, log } = world();
  const out = recorder();
  await readInOrder(files, open, out.sink, { ahead: 4 });
  assert.deepEqual(out.events.filter((e) => e.startsWith("failed")), [
    "failed missing: no such file",
    "failed broken: broken: read failed",
  ]);
  // The two chunks of "broken" read before its failure are written, then the failure.
  assert.equal(out.text, "aaaabbbbbbb123456c");
  const order = out.events.map((e) => e.startsWith("failed") ? e : e.slice(5)).join("|");
  assert.ok(
    order.indexOf("aaaa") < order.indexOf("failed missing") &&
      order.indexOf("failed missing") < order.indexOf("bbb") &&
      order.indexOf("456") < order.indexOf("failed broken") &&
      order.indexOf("failed broken") < order.indexOf("|c"),
    order,
  );
  assert.equal(log.closed, log.open, "every file opened is closed");
});

Deno.test("readInOrder opens nothing ahead while a large file streams", async () => {
  const big = { name: "big", data: bytes("B".repeat(50)) };
  const files: FakeFile[] = [big, { name: "s1", data: bytes("1") }, {
    name: "s2",
    data: bytes("2"),
  }];
  const { open, log } = world();
  const seen: string[][] = [];
  const out = recorder();
  await readInOrder(files, open, {
    write: async (chunk) => {
      seen.push([...log.opened]);
      await out.sink.write(chunk);
    },
    failed: out.sink.failed,
  }, { prefetchBytes: 10 });
  assert.equal(out.text, "B".repeat(50) + "12");
  // While "big" was written (its 17 chunks), only it was open.
  for (const opened of seen.slice(0, 17)) assert.deepEqual(opened, ["big"]);
  assert.equal(log.closed, 3);
});

Deno.test("readInOrder stops when the sink gives up, and closes every file opened ahead", async () => {
  const files: FakeFile[] = [
    { name: "a", data: bytes("a") },
    { name: "bad", openError: "denied" },
    ...Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: bytes(`${i}`) })),
  ];
  const { open, log } = world();
  const out = recorder({ stopAt: "bad" });
  await assert.rejects(readInOrder(files, open, out.sink, { ahead: 5 }), /stop/);
  assert.equal(out.text, "a", "nothing after the failure that stopped it");
  assert.ok(log.open <= 7, `opened ${log.open}: the first, and at most 5 ahead of the second`);
  assert.equal(log.closed, log.open, "every file opened is closed");
  await delay(20);
  assert.ok(log.open <= 7, "nothing opened after it returned");
});

Deno.test("readInOrder with ahead 0 reads one file at a time", async () => {
  const files = Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, data: bytes(`${i}`) }));
  const { open, log } = world();
  const out = recorder();
  await readInOrder(files, open, out.sink, { ahead: 0 });
  assert.equal(out.text, "0123456789");
  assert.equal(log.maxOpenCalls, 1);
  assert.equal(log.closed, 10);
});
