#!/bin/bash
# usage: live.sh BIN CATALOG|- DATADIR: live heap (MB, after a forced GC) with the catalog loaded
# Prints the live heap after a forced collection (GODEBUG=gctrace=1, its
# "a->b->c MB") and VmRSS once the catalog is loaded; the heap profile is
# left in $OUT/live-PID.pb (go tool pprof -top -inuse_space BIN FILE).
# docs/performance.md, "Peak memory, sixth pass".
BIN=$1; CAT=$2; D=$3
args=(serve --addr 127.0.0.1:0 --admin-addr "" --data-dir $D --log-level info)
[ "$CAT" != "-" ] && args+=(--catalog $CAT)
L=${OUT:-/tmp}/live-$$.log
(GODEBUG=gctrace=1 PROVISIOND_MEMPROFILE=${OUT:-/tmp}/live-$$.pb $BIN "${args[@]}" > $L 2>&1 &)
sleep 0.5; until grep -q 'listening listener=boot' $L; do sleep 0.1; done
if grep -q 'while .* loads' $L; then until grep -q 'catalog directory loaded' $L; do sleep 0.1; done; fi
sleep 1; pid=$(pgrep -f "serve --addr 127.0.0.1:0 --admin-addr  --data-dir $D"); kill -USR1 $pid; sleep 2
echo "$(basename $BIN) live=$(grep '(forced)' $L | tail -1 | grep -o '[0-9]*->[0-9]*->[0-9]* MB') rss=$(grep VmRSS /proc/$pid/status | awk '{print int($2/1024)}')MiB"
kill $pid; sleep 1
