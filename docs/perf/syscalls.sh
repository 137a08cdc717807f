#!/bin/bash
# usage: syscalls.sh start BIN CATALOG
#        syscalls.sh request BIN CATALOG PATH
# docs/performance.md, "Start-up and steady state, eleventh pass". Counts
# the server's system calls with perf's tracepoints (perf stat; counts,
# not times: the same on a busy machine as on an idle one).
#   start:   serve --catalog CATALOG on a new database, pinned to CPU 0,
#            from exec to its boot listener: all system calls, openat,
#            read, io_uring_enter, and page faults.
#   request: the same server, then wrk (16 connections, CPU 1) on PATH
#            for 6 s; over 4 s of it, the server's system calls of each
#            kind per request (wrk's requests in those 4 s estimated from
#            its rate).
MODE=$1; BIN=$2; CAT=$3; P=$4
DATA=$(mktemp -d); LOG=$DATA/serve.log; OUT=$DATA/perf.txt
trap 'rm -rf $DATA' EXIT
ev=raw_syscalls:sys_enter,syscalls:sys_enter_openat,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_io_uring_enter,page-faults
if [ "$MODE" = start ]; then
  perf stat -x, -e $ev -o $OUT -- taskset -c 0 $BIN serve --addr 127.0.0.1:0 --admin-addr "" --data-dir $DATA/db --catalog $CAT > $LOG 2>&1 &
  until grep -q 'msg=listening listener=boot' $LOG; do sleep 0.01; done
  pkill -INT -f "data-dir $DATA/db"; wait
  echo "$(basename $BIN) start: $(awk -F, '/sys_enter|faults/{printf "%s=%s ", $3, $1}' $OUT)"
  exit
fi
taskset -c 0 $BIN serve --addr 127.0.0.1:0 --admin-addr "" --data-dir $DATA/db --catalog $CAT > $LOG 2>&1 &
until grep -q 'catalog directory loaded\|msg="catalog loaded"' $LOG; do sleep 0.1; done
addr=$(sed -n 's/.*msg=listening listener=boot addr=\([^ ]*\).*/\1/p' $LOG | head -1)
pid=$(pgrep -f "data-dir $DATA/db" | tail -1)
taskset -c 1 wrk -t1 -c16 -d6s "http://$addr$P" > $DATA/wrk.txt &
wpid=$!
sleep 1
perf stat -x, -e $ev -o $OUT -p $pid -- sleep 4
wait $wpid
rate=$(awk '/Requests\/sec/{print $2}' $DATA/wrk.txt)
kill $pid; wait
awk -F, -v r=$rate -v b=$(basename $BIN) -v p="$P" '/sys_enter/{printf "%s %s %s: %.2f a request\n", b, p, $3, $1/(r*4)}' $OUT
