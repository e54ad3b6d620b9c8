// usage: deno run -A ring_main_deno.ts PORT [slots=8] [mode=bench|shutdown|sigint] [slotKiB=1024]

const port = Number(Deno.args[2 - 2] ?? 5001),
  slots = Number(Deno.args[3 - 2] ?? 8),
  mode = Deno.args[4 - 2] ?? "bench";
const slotSize = Number(Deno.args[5 - 2] ?? 1024) * 1024;
const libc = Deno.dlopen("libc.so.6", { shutdown: { parameters: ["i32", "i32"], result: "i32" } });
const data = new SharedArrayBuffer(slots * slotSize),
  ctlBuf = new SharedArrayBuffer(4 * (4 + slots));
const ctl = new Int32Array(ctlBuf), u8 = new Uint8Array(data);
const w = new Worker(new URL("./ring_worker_deno.ts", import.meta.url).href, { type: "module" });
const t0 = performance.now();
w.postMessage({ data, ctlBuf, port, slots, slotSize });
const fdReady = async () => {
  while (Atomics.load(ctl, 3) === 0) {
    const r = Atomics.waitAsync(ctl, 3, 0);
    if (r.async) await r.value;
  }
  return ctl[3];
};
if (mode === "shutdown") {
  fdReady().then((fd) =>
    setTimeout(() => {
      console.error(
        `shutdown(fd=${fd}) at ${(performance.now() - t0).toFixed(0)}ms ->`,
        libc.symbols.shutdown(fd, 2),
      );
    }, 1000)
  );
}
if (mode === "sigint") {
  Deno.addSignalListener("SIGINT", async () => {
    const fd = await fdReady();
    console.error(`SIGINT: shutdown(fd=${fd}) ->`, libc.symbols.shutdown(fd, 2));
  });
}
let consumed = 0, n = 0, x = 0;
for (;;) {
  const p = Atomics.load(ctl, 0);
  if (p === consumed) {
    const r = Atomics.waitAsync(ctl, 0, p);
    if (r.async) await r.value;
    continue;
  }
  for (; consumed < p; consumed++) {
    const slot = consumed % slots, len = ctl[4 + slot], o = slot * slotSize;
    for (let k = 0; k < len; k += 1 << 20) x ^= u8[o + k]; // touch one byte per MiB
    n += len;
    Atomics.store(ctl, 1, consumed + 1);
    Atomics.notify(ctl, 1);
  }
  const last = Atomics.load(ctl, 2);
  if (last !== 0 && consumed === last) break;
}
console.error(`bytes=${n} ms=${(performance.now() - t0).toFixed(0)} x=${x}`);
w.terminate();
Deno.exit(0);
