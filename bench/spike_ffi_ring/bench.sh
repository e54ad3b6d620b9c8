#!/bin/bash
# Round-robin benchmark; receiver CPU (user+sys) and peak RSS per 1 GiB over loopback. Sender (python) is a separate process, excluded.
cd /tmp/nfs4/spike
BUN=/work/main/.tools/bun/node_modules/.bin/bun; DENO=/work/main/.tools/bin/deno; R=${R:-5}
python3 sender.py 5001 1 & SP=$!; sleep 0.5
declare -a V=(
 "bun-baseline-script|$BUN bun_baseline.ts 5001"
 "bun-baseline-compiled|./baseline_bun_compiled 5001"
 "bun-ring-script-4x1M|$BUN ring_main_bun.ts 5001 4"
 "bun-ring-compiled-8x1M|./ring_bun_compiled 5001 8"
 "bun-ring-compiled-4x1M|./ring_bun_compiled 5001 4"
 "bun-ring-compiled-4x1M-waitall|./ring_bun_compiled 5001 4 bench 1024 waitall"
 "bun-ring-compiled-16x256K|./ring_bun_compiled 5001 16 bench 256"
 "deno-baseline-read1M|$DENO run -A deno_baseline.ts 5001"
 "deno-ring-8x1M|$DENO run -A ring_main_deno.ts 5001 8"
 "deno-ring-4x1M|$DENO run -A ring_main_deno.ts 5001 4"
 "python-recv_into-floor-1M|python3 floor_recv_into.py 5001"
 "python-recv_into-ring-8M|python3 floor_recv_into_ring.py 5001 8"
)
: > results.txt
for r in $(seq $R); do for v in "${V[@]}"; do name=${v%%|*}; cmd=${v#*|}
  out=$( { /usr/bin/time -f "TIME %U %S %M" $cmd >/dev/null; } 2>&1 ); echo "$name $(grep -o 'bytes=[0-9]*' <<<"$out") $(grep TIME <<<"$out")" >> results.txt
done; done
# startup-only cost (no data)
for r in $(seq 3); do
  echo "bun-startup-empty bytes=0 $( { /usr/bin/time -f "TIME %U %S %M" $BUN -e 0; } 2>&1 | grep TIME)" >> results.txt
  echo "deno-startup-empty bytes=0 $( { /usr/bin/time -f "TIME %U %S %M" $DENO eval 0; } 2>&1 | grep TIME)" >> results.txt
done
kill $SP
python3 - <<'PY'
import collections,statistics
d=collections.OrderedDict()
for l in open('results.txt'):
    p=l.split(); name=p[0]; u,s,m=float(p[3]),float(p[4]),int(p[5]); d.setdefault(name,[]).append((u+s,u,s,m,p[1]))
print(f"{'variant':28} {'n':>2} {'median cpu-s':>12} {'min-max':>11} {'med user':>8} {'med sys':>7} {'med RSS MiB':>11}  bytes-ok")
for k,v in d.items():
    c=[x[0] for x in v]
    print(f"{k:28} {len(v):2} {statistics.median(c):12.2f} {min(c):5.2f}-{max(c):<5.2f} {statistics.median(x[1] for x in v):8.2f} {statistics.median(x[2] for x in v):7.2f} {statistics.median(x[3] for x in v)/1024:11.1f}  {all(x[4] in ('bytes=1073741824','bytes=0') for x in v)}")
PY
