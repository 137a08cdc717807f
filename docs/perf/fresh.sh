#!/bin/bash
# usage: fresh.sh ROUNDS CATALOG BIN...
# docs/performance.md, "Start-up, tenth pass: access times". Per round and
# binary: copy CATALOG (a matchbox-shape directory) to a new directory,
# start BIN on it with a new database right after the copy (startup.sh),
# then again on another new database, the files now read once. Logs and
# times go to $OUT (default /tmp/fresh) as BIN-ROUND[-again].{log,time}.
export OUT=${OUT:-/tmp/fresh}; mkdir -p $OUT
R=$1; CAT=$2; shift 2
HERE=$(dirname "$0")
for r in $(seq $R); do
  for B in "$@"; do
    T=$(basename $B)
    rm -rf $OUT/cat $OUT/data; cp -r $CAT $OUT/cat
    flock /tmp/measure.lock bash $HERE/startup.sh $B $OUT/cat $OUT/data $T-$r
    rm -rf $OUT/data
    flock /tmp/measure.lock bash $HERE/startup.sh $B $OUT/cat $OUT/data $T-$r-again
  done
done
