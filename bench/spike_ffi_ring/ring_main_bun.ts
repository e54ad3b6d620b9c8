// usage: bun ring_main_bun.ts PORT [slots=8] [mode=bench|shutdown|sigint|close] [slotKiB=1024] [waitall]
import { dlopen, FFIType as T } from "bun:ffi";
const port = Number(process.argv[2] ?? 5001),
  slots = Number(process.argv[3] ?? 8),
  mode = process.argv[4] ?? "bench";
const slotSize = Number(process.argv[5] ?? 1024) * 1024;
const libc = dlopen("libc.so.6", {
  shutdown: { args: [T.i32, T.i32], returns: T.i32 },
  close: { args: [T.i32], returns: T.i32 },
});
const data = new SharedArrayBuffer(slots * slotSize),
  ctlBuf = new SharedArrayBuffer(4 * (4 + slots));
const ctl = new Int32Array(ctlBuf), u8 = new Uint8Array(data);
const w = new Worker("./ring_worker_bun.ts");
const t0 = performance.now();
w.postMessage({
  data,
  ctlBuf,
  port,
  slots,
  slotSize,
  flags: process.argv[6] === "waitall" ? 0x100 /* MSG_WAITALL */ : 0,
});
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
  process.on("SIGINT", async () => {
    const fd = await fdReady();
    console.error(`SIGINT: shutdown(fd=${fd}) ->`, libc.symbols.shutdown(fd, 2));
  });
}
if (mode === "close") {
  fdReady().then((fd) =>
    setTimeout(() => {
      console.error(`close(fd=${fd}) from main ->`, libc.symbols.close(fd));
      setTimeout(() => {
        console.error(
          "worker still blocked 1s after close(); now shutdown() cannot help (fd gone)",
        );
        process.exit(4);
      }, 1000);
    }, 1000)
  );
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
await Bun.sleep(process.env.RING_DEBUG ? 50 : 0);
w.terminate();
