/**
 * The benchmark's pure parts: which rows run under which runtime, how the
 * `cp` targets are judged, and the CPU-bound ceiling of a read row.
 */
import assert from "node:assert/strict";
import {
  type CaseResult,
  casesFor,
  cpuCeilings,
  evaluateTargets,
  type ToolResult,
} from "../../scripts/bench.ts";

const GiB = 2 ** 30;

function tool(seconds: number, cpu: number, serverCpu: number, rssKiB = 100_000): ToolResult {
  return {
    runs: [],
    medianSeconds: seconds,
    mbPerSecond: GiB / seconds / 1e6,
    peakRssKiB: rssKiB,
    medianCpuSeconds: cpu,
    medianServerCpuSeconds: serverCpu,
  };
}

function row(
  id: string,
  kind: "read" | "cat" | "write",
  ours: ToolResult,
  theirs?: ToolResult,
): CaseResult {
  return {
    id,
    title: id,
    bytes: GiB,
    ours,
    theirs,
    ratio: theirs ? theirs.medianSeconds / ours.medianSeconds : undefined,
    kind,
  };
}

Deno.test("bench: the Deno rows are the 1 GiB rows only, each after its binary row", () => {
  const ids = casesFor(["binary", "deno"], ["deno", "run"]).map((c) => c.id);
  assert.deepEqual(ids.slice(0, 12), [
    "read-4.1",
    "read-4.1+deno",
    "read-4.0",
    "read-4.0+deno",
    "cat-4.1",
    "cat-4.1+deno",
    "cat-4.0",
    "cat-4.0+deno",
    "write-4.1",
    "write-4.1+deno",
    "write-4.0",
    "write-4.0+deno",
  ]);
  assert.ok(!ids.some((id) => /^(ls|cat-1000|cp-r|start)/.test(id) && id.endsWith("+deno")));
  for (
    const id of [
      "ls-l-10k",
      "ls-l-10k-cached",
      "ls-R-20k",
      "cat-1000-one",
      "cp-r-10k-up",
      "cp-r-10k-down",
      "start-version",
    ]
  ) {
    assert.ok(ids.includes(id), id);
  }
  assert.deepEqual(casesFor(["deno"], ["deno"]).map((c) => c.id), [
    "read-4.1+deno",
    "read-4.0+deno",
    "cat-4.1+deno",
    "cat-4.0+deno",
    "write-4.1+deno",
    "write-4.0+deno",
  ]);
});

Deno.test("bench: the long read is 16 times the file, binary only, judged on CPU and RSS", async () => {
  const cases = casesFor(["binary", "deno"], ["deno", "run"]);
  const long = cases.find((c) => c.id === "cat-4.1-long");
  assert.ok(long, "cat-4.1-long");
  assert.ok(!cases.some((c) => c.id === "cat-4.1-long+deno"));
  const exportDir = await Deno.makeTempDir();
  try {
    const ctx = {
      server: { url: "nfs://127.0.0.1:2049", port: 2049 },
      nfs4: ["BINARY"],
      localDir: "/l",
      exportDir,
      size: 1024,
      file: "f",
      sha256: "",
    } as never;
    assert.equal(long.bytes(ctx), 16 * 1024);
    // The sparse file is made once, at 16 times the size, and kept.
    await long.prepare!(ctx, "nfs4");
    await long.prepare!(ctx, "libnfs");
    const [name] = [...Deno.readDirSync(exportDir)].map((e) => e.name);
    assert.equal((await Deno.stat(`${exportDir}/${name}`)).size, 16 * 1024);
    assert.match(
      long.ours(ctx).join(" "),
      /BINARY' --vers 4\.1 cat 'nfs:\/\/127\.0\.0\.1:2049\/vfs\//,
    );
  } finally {
    await Deno.remove(exportDir, { recursive: true });
  }
  const targets = evaluateTargets([{
    id: "cat-4.1-long",
    title: "long",
    bytes: 16 * GiB,
    ours: tool(10, 3.6, 2, 88_000),
    theirs: tool(8, 2.7, 2, 4_000),
    ratio: 0.8,
  }]);
  assert.deepEqual(targets.map((t) => [t.name, t.value, t.pass]), [
    ["cat-4.1-long: nfs4 CPU ≤ 1.5 × libnfs CPU", "1.33x (3.60 s vs 2.70 s)", true],
    ["cat-4.1-long: binary peak RSS ≤ 64 MB", "86 MB", false],
  ]);
});

Deno.test("bench: a Deno row runs the sources and names itself so", () => {
  const [, deno] = casesFor(["binary", "deno"], ["DENO", "run", "-A", "cli/main.ts"]);
  assert.equal(deno!.title, "read  NFS → local (v4.1, deno run)");
  const argv = deno!.ours({
    server: { url: "nfs://127.0.0.1:2049" },
    nfs4: ["BINARY"],
    localDir: "/l",
    exportDir: "/e",
    size: GiB,
    file: "f",
    sha256: "",
  } as never);
  assert.deepEqual(argv.slice(0, 4), ["DENO", "run", "-A", "cli/main.ts"]);
  assert.ok(!argv.includes("BINARY"));
});

Deno.test("bench: reads are judged on CPU and speed against libnfs, writes against our reads", () => {
  const results = [
    row("read-4.1", "read", tool(1.0, 0.9, 1, 60_000), tool(1.2, 0.5, 0.9)),
    row("read-4.1+deno", "read", tool(0.5, 0.7, 1, 150_000), tool(1.2, 0.5, 0.9)),
    row("cat-4.1", "cat", tool(1.1, 0.3, 1, 70_000), tool(1.0, 0.2, 0.9)),
    row("write-4.1", "write", tool(1.2, 1.2, 1)),
    row("write-4.1+deno", "write", tool(1.0, 1.4, 1)),
  ];
  const targets = evaluateTargets(results);
  const byName = (name: string) => {
    const found = targets.find((t) => t.name.startsWith(name));
    assert.ok(found, name);
    return found;
  };
  assert.equal(byName("read-4.1: nfs4 CPU").value, "1.80x (0.90 s vs 0.50 s)");
  assert.equal(byName("read-4.1: nfs4 CPU").pass, false);
  assert.equal(byName("read-4.1+deno: nfs4 CPU").value, "1.40x (0.70 s vs 0.50 s)");
  assert.equal(byName("read-4.1+deno: nfs4 CPU").pass, true);
  assert.equal(byName("read-4.1: nfs4 speed").value, "1.20x");
  assert.equal(byName("read-4.1: nfs4 speed").pass, true);
  assert.equal(byName("cat-4.1: nfs4 CPU").value, "1.50x (0.30 s vs 0.20 s)");
  assert.equal(byName("cat-4.1: nfs4 CPU").pass, true);
  assert.equal(byName("cat-4.1: nfs4 speed").pass, false); // 0.91x
  // 1.2 s of CPU against the binary's read of 0.9 s; 1.4 s against the Deno read's 0.7 s.
  assert.equal(byName("write-4.1: nfs4 write CPU").value, "1.33x (1.20 s vs 0.90 s)");
  assert.equal(byName("write-4.1: nfs4 write CPU").pass, true);
  assert.equal(byName("write-4.1+deno: nfs4 write CPU").value, "2.00x (1.40 s vs 0.70 s)");
  assert.equal(byName("write-4.1+deno: nfs4 write CPU").pass, false);
  // The RSS limit is the binary's: no row for the Deno runs.
  assert.equal(byName("read-4.1: binary peak RSS").pass, true); // 59 MB
  assert.equal(byName("cat-4.1: binary peak RSS").pass, false); // 68 MB
  assert.ok(!targets.some((t) => t.name.startsWith("read-4.1+deno: binary")));
});

Deno.test("bench: many files are judged against the nfs-cat loop, ls -l against local ls -l", () => {
  const result = (id: string, ours: number, theirs: number): CaseResult => ({
    id,
    title: id,
    bytes: 0,
    ours: tool(ours, 0.1, 0.1),
    theirs: tool(theirs, 0.1, 0.1),
    ratio: theirs / ours,
  });
  const targets = evaluateTargets([
    result("cat-1000-one", 0.5, 4),
    result("ls-l-10k", 0.3, 0.1),
    result("ls-l-10k-cached", 0.12, 0.1),
  ]);
  assert.deepEqual(targets.map((t) => [t.name, t.value, t.pass]), [
    ["cat-1000-one: files/s ≥ 10 × a loop of nfs-cat", "8.00x", false],
    ["ls-l-10k: time ≤ 1.5 × local ls -l", "3.00x", false],
    ["ls-l-10k-cached: time ≤ 1.5 × local ls -l", "1.20x", true],
  ]);
});

Deno.test("bench: the CPU-bound ceiling divides client and server CPU by the CPUs", () => {
  // nfs4 1.0 + server 0.9 CPU-s on 2 CPUs: 0.95 s at best; libnfs took 1.33 s.
  const [line] = cpuCeilings([
    row("read-4.1", "read", tool(1.1, 1.0, 0.9), tool(1.33, 0.5, 0.9)),
    row("write-4.1", "write", tool(1.1, 1.0, 0.9)),
  ], 2);
  assert.equal(
    line,
    "  read-4.1: nfs4 1.00 + server 0.90 CPU-s on 2 CPUs: at best 0.95 s, 1.40x libnfs; " +
      "a client as lean as libnfs: 1.90x; one using no CPU: 2.96x",
  );
  assert.equal(cpuCeilings([row("read-4.1", "read", tool(1, 1, 1))], 2).length, 0);
});
