#!/bin/bash
# usage: startup.sh BIN CATALOG|- DATADIR TAG [env...]
# Logs and /usr/bin/time output go to $OUT (default /tmp) as TAG.log, TAG.time.
# docs/performance.md, "Start-up, fifth pass".
# Starts serve pinned to CPU 0 under /usr/bin/time -v, waits for the boot
# listener, records wall/CPU at listening and peak RSS, then SIGTERMs it.
BIN=$1; CAT=$2; DATA=$3; TAG=$4; shift 4
OUT=${OUT:-/tmp}; LOG=$OUT/$TAG.log; TV=$OUT/$TAG.time
args=(serve --addr 127.0.0.1:0 --admin-addr "" --data-dir $DATA --log-level info)
[ "$CAT" != "-" ] && args+=(--catalog $CAT)
: > $LOG
start=$(date +%s.%N)
env "$@" /usr/bin/time -v -o $TV taskset -c 0 $BIN "${args[@]}" >$LOG 2>&1 &
tpid=$!
sleep 0.05
pid=; for i in $(seq 50); do pid=$(pgrep -P $tpid); [ -n "$pid" ] && [ "$(readlink /proc/$pid/exe)" = "$(readlink -f $BIN)" ] && break; sleep 0.01; done
( while kill -0 $pid 2>/dev/null; do a=$(awk '/MemAvailable/{print $2}' /proc/meminfo); [ "$a" -lt 4194304 ] && { echo WATCHDOG >&2; kill -9 $pid; }; sleep 0.1; done ) &
until grep -q 'msg=listening listener=boot' $LOG; do sleep 0.005; kill -0 $pid 2>/dev/null || { echo died; tail -3 $LOG; exit 1; }; done
t=$(echo "$(date +%s.%N) - $start" | bc)
cpu=$(awk '{print ($14+$15)/100, $14/100, $15/100}' /proc/$pid/stat)
sched=$(cat /proc/$pid/task/*/schedstat | awk '{r+=$1; w+=$2} END {printf "oncpu=%.2fs runqwait=%.2fs", r/1e9, w/1e9}')
if grep -q 'while .* loads' $LOG; then until grep -q 'catalog directory loaded' $LOG; do sleep 0.01; done; fi
td=$(echo "$(date +%s.%N) - $start" | bc)
hwm=$(awk '/VmHWM/{print int($2/1024)}' /proc/$pid/status)
kill $pid; wait $tpid
echo "$TAG listen=${t}s cpu(total user sys)@listen=${cpu} dirdone=${td}s ${sched} peak=${hwm}MiB $(grep -E 'Major|Minor|Voluntary|Involuntary' $TV | sed 's/^\s*//; s/(.*)//; s/ context switches//' | tr '\n' ' ')"
