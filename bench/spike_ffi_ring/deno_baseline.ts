// Deno.connect + conn.read into one reused 1 MiB buffer; count bytes
const port = Number(Deno.args[0] ?? 5001);
const c = await Deno.connect({ hostname: "127.0.0.1", port });
const buf = new Uint8Array(1 << 20);
let n = 0, x = 0;
const t0 = performance.now();
for (;;) {
  const r = await c.read(buf);
  if (r === null) break;
  n += r;
  x ^= buf[0];
}
console.error(`bytes=${n} ms=${(performance.now() - t0).toFixed(0)} x=${x}`);
