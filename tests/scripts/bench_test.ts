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
  kind: "read" | "write",
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

Deno.test("bench: the Deno rows are the data copies only, each after its binary row", () => {
  const ids = casesFor(["binary", "deno"], ["deno", "run"]).map((c) => c.id);
  assert.deepEqual(ids.slice(0, 8), [
    "read-4.1",
    "read-4.1+deno",
    "read-4.0",
    "read-4.0+deno",
    "write-4.1",
    "write-4.1+deno",
    "write-4.0",
    "write-4.0+deno",
  ]);
  assert.ok(!ids.some((id) => id.startsWith("ls") && id.endsWith("+deno")));
  assert.deepEqual(casesFor(["deno"], ["deno"]).map((c) => c.id), [
    "read-4.1+deno",
    "read-4.0+deno",
    "write-4.1+deno",
    "write-4.0+deno",
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

Deno.test("bench: writes are judged against the read of the same version and runtime", () => {
  const results = [
    row("read-4.1", "read", tool(1.0, 1, 1), tool(1.2, 0.5, 0.9)),
    row("read-4.1+deno", "read", tool(0.5, 1, 1), tool(1.2, 0.5, 0.9)),
    row("write-4.1", "write", tool(1.2, 1, 1)),
    row("write-4.1+deno", "write", tool(1.0, 1, 1)),
  ];
  const targets = evaluateTargets(results);
  const byName = (name: string) => targets.find((t) => t.name.startsWith(name))!;
  assert.equal(byName("read-4.1: nfs4 read").value, "1.20x");
  assert.equal(byName("read-4.1: nfs4 read").pass, false);
  assert.equal(byName("read-4.1+deno: nfs4 read").value, "2.40x");
  assert.equal(byName("read-4.1+deno: nfs4 read").pass, true);
  // 1.0 s against the binary's read of 1.0 s; 1.0 s against the Deno read's 0.5 s.
  assert.equal(byName("write-4.1: nfs4 write").value, "0.83x");
  assert.equal(byName("write-4.1+deno: nfs4 write").value, "0.50x");
  assert.equal(byName("write-4.1+deno: nfs4 write").pass, false);
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
