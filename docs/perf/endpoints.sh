#!/bin/bash
# usage: endpoints.sh OUT SECS ROUNDS CATALOG BIN...
# docs/performance.md, "Steady state, eighth pass". Per round and binary:
# one server (`serve --catalog CATALOG`, a matchbox-shape directory whose
# machines are catalogen's, e.g. bootstorm --keep's; admin listener on, as
# by default) pinned to CPU 0, measured by wrk on CPU 1 (16 connections)
# on /boot.ipxe, /ipxe and /metadata in turn, SECS seconds each, after a
# 2 s warm-up of each (which leases the 1,000 machines asked for). Prints
# requests a second, the ratio to the round's /boot.ipxe, and the
# server's CPU (user + system, from /proc/PID/stat) per request.
OUT=$1; SECS=$2; ROUNDS=$3; CAT=$4; shift 4
mkdir -p $OUT
for k in boot ipxe meta; do
python3 - $k > $OUT/$k.lua <<'PY'
import sys
k = sys.argv[1]
paths = []
for i in range(1000):
    mac = "52-54-00-%02x-%02x-%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    if k == "boot": paths = ["/boot.ipxe"]; break
    if k == "ipxe": paths.append("/ipxe?uuid=&mac=%s&domain=&hostname=&serial=&arch=x86_64" % mac)
    if k == "meta": paths.append("/metadata?mac=%s" % mac)
print("local paths = {" + ",".join('"%s"' % p for p in paths) + "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  if i > #paths then i = 1 end\n  return wrk.format(\"GET\", paths[i])\nend")
PY
done
for r in $(seq $ROUNDS); do
 for BIN in "$@"; do
  T=$(basename $BIN); D=$OUT/data; rm -rf $D; mkdir -p $D
  taskset -c 0 $BIN serve --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --data-dir $D --catalog $CAT --log-level info 2>$OUT/$T.log &
  PID=$!
  for i in $(seq 300); do grep -q "listening" $OUT/$T.log && break; sleep 0.1; done
  ADDR=$(grep -o 'addr=127.0.0.1:[0-9]*' $OUT/$T.log | head -1 | cut -d= -f2)
  for k in ipxe meta; do taskset -c 1 wrk -t1 -c16 -d2s -s $OUT/$k.lua http://$ADDR >/dev/null; done
  line="$r $T"
  for k in boot ipxe meta; do
    C0=$(awk '{print $14+$15}' /proc/$PID/stat)
    o=$(taskset -c 1 wrk -t1 -c16 -d${SECS}s -s $OUT/$k.lua http://$ADDR)
    C1=$(awk '{print $14+$15}' /proc/$PID/stat)
    v=$(echo "$o" | awk '/Requests\/sec/{print $2}'); n=$(echo "$o" | grep -o '^ *[0-9]* requests' | awk '{print $1}')
    [ $k = boot ] && b=$v
    line="$line $k=$(python3 -c "print(f'{$v:.0f}({$v/$b*100:.0f}%,{($C1-$C0)*10000/$n:.2f}us)')")"
  done
  kill -INT $PID; wait $PID 2>/dev/null
  echo "$line"
 done
done
