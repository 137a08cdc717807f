#!/bin/bash
# usage: stealmon.sh [SECS]
# docs/performance.md, "Steady state, tenth pass: drift and steal". Every
# SECS seconds (default 10): the UTC time, then for CPU 0 and CPU 1 the
# share of their time (percent) the hypervisor stole over the last SECS
# seconds (/proc/stat's eighth counter over the first eight).
S=${1:-10}
read_cpu() { grep "^cpu$1 " /proc/stat | awk '{t=0; for (i=2; i<=9; i++) t+=$i; print t, $9}'; }
p0=$(read_cpu 0); p1=$(read_cpu 1)
while sleep $S; do
  c0=$(read_cpu 0); c1=$(read_cpu 1)
  echo "$(date -u +%H:%M:%S) $(echo "$p0 $c0" | awk '{printf "%.1f", ($3>$1) ? 100*($4-$2)/($3-$1) : 0}') $(echo "$p1 $c1" | awk '{printf "%.1f", ($3>$1) ? 100*($4-$2)/($3-$1) : 0}')"
  p0=$c0; p1=$c1
done
