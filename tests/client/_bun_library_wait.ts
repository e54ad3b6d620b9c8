/**
 * Run by Bun for tests/client/library_wait_cpu_test.ts: a library program
 * (no CLI) that opens a file, then every 500 ms looks at it (`stat`) or
 * probes the lease (`probe`), each awaited, its failure printed. The trace
 * goes to stderr as text.
 * Usage: bun tests/client/_bun_library_wait.ts HOST PORT PATH stat|probe
 */
import { formatTraceText, Nfs4Client } from "../../mod.ts";

const [host, port, path, how] = process.argv.slice(2) as [string, string, string, string];
const client = await Nfs4Client.connect({
  host,
  port: Number(port),
  onTrace: (event) => process.stderr.write(formatTraceText(event) + "\n"),
});
const file = await client.openRead(path);
process.stdout.write(`opened ${file.path}\n`);
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    if (how === "probe") await client.probeLease();
    else await client.stat(path);
  } catch (e) {
    process.stdout.write(`${how} failed: ${(e as Error).message}\n`);
  }
}
