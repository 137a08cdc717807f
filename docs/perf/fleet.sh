#!/bin/bash
# usage: fleet.sh BIN DATADIR TAG SECS [serve flags...]
# docs/performance.md, "A booted fleet reboots". DATADIR is the data
# directory of a site whose machines have all booted (bootstorm --spawn
# --shape matchbox --n 100000 --machines 100000 --keep leaves one, its
# database holding every machine's inventory record and lease); it is
# copied, never written. The server starts from the copy (no --catalog),
# pinned to CPU 0; then every machine of the catalog asks /ipxe in turn
# (wrk on CPU 1, 16 connections, SECS seconds, starting at a random
# machine), as when the whole site reboots after provisiond restarted.
# Prints the peak resident memory at listening and at the end (VmHWM),
# the largest RSS sampled every 0.2 s with its anonymous and file-backed
# parts (the file part is the database's mapped pages), and requests a
# second. N (default 100000) is the number of machines.
BIN=$1; SRC=$2; TAG=$3; SECS=$4; shift 4
N=${N:-100000}; OUT=${OUT:-/tmp/fleet}; mkdir -p $OUT
[ -f $OUT/all-$N.lua ] || python3 - $N > $OUT/all-$N.lua <<'PY'
import sys
n = int(sys.argv[1])
paths = ["/ipxe?uuid=&mac=52-54-00-%02x-%02x-%02x&domain=&hostname=&serial=&arch=x86_64" % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(n)]
print("local paths = {" + ",".join('"%s"' % p for p in paths) + "}\nlocal i = math.random(#paths)\nrequest = function()\n  i = i + 1\n  if i > #paths then i = 1 end\n  return wrk.format(\"GET\", paths[i])\nend")
PY
D=$OUT/data-$TAG; rm -rf $D; cp -r $SRC $D
L=$OUT/$TAG.log
taskset -c 0 $BIN serve --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --data-dir $D --log-level info "$@" > $L 2>&1 &
PID=$!
until grep -q 'listening listener=boot' $L; do sleep 0.05; kill -0 $PID 2>/dev/null || { tail -3 $L; exit 1; }; done
ADDR=$(grep -o 'addr=127.0.0.1:[0-9]*' $L | head -1 | cut -d= -f2)
h0=$(awk '/VmHWM/{print int($2/1024)}' /proc/$PID/status)
( mx=0; ma=0; mf=0; while kill -0 $PID 2>/dev/null; do
    read r a f < <(awk '/^VmRSS/{r=int($2/1024)} /^RssAnon/{a=int($2/1024)} /^RssFile/{f=int($2/1024)} END{print r, a, f}' /proc/$PID/status 2>/dev/null)
    [ -n "$r" ] && { [ $r -gt $mx ] && mx=$r; [ $a -gt $ma ] && ma=$a; [ $f -gt $mf ] && mf=$f; echo "max RSS ${mx} MiB (anon ${ma}, file ${mf})" > $OUT/$TAG.max; }
    sleep 0.2; done ) &
o=$(taskset -c 1 wrk -t1 -c16 -d${SECS}s --timeout 30s -s $OUT/all-$N.lua http://$ADDR)
h1=$(awk '/VmHWM/{print int($2/1024)}' /proc/$PID/status)
kill -INT $PID; wait $PID 2>/dev/null; sleep 0.3
echo "$TAG: peak at listening ${h0} MiB, at the end ${h1} MiB; $(cat $OUT/$TAG.max); $(echo "$o" | awk '/Requests\/sec/{print $2}') requests/s; $(echo "$o" | grep -E 'Non-2xx|Socket errors' | tr -s ' ' | tr '\n' ' ')"
