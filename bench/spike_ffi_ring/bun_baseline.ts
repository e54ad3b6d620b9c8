// bare Bun.connect receive loop: count bytes, touch one byte per chunk
const port = Number(process.argv[2] ?? 5001);
let n = 0, x = 0;
const t0 = performance.now();
await new Promise<void>((res) => {
  Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        n += d.length;
        x ^= d[0];
      },
      close() {
        res();
      },
      error(_s, e) {
        console.error(e);
        res();
      },
    },
  });
});
console.error(`bytes=${n} ms=${(performance.now() - t0).toFixed(0)} x=${x}`);
