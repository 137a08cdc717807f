#!/bin/bash
# usage: oldatime.sh ROUNDS COLD CATALOG BIN...
# docs/performance.md, "Start-up, tenth pass: access times". Per round and
# binary: set the access time of every file of CATALOG three days back
# (a catalog not read for days), with COLD=1 drop the page cache (root),
# then start BIN on a new database (startup.sh) and print its listening
# time, user and system CPU, and the catalog load's duration. Logs go to
# $OUT (default /tmp/oldatime).
export OUT=${OUT:-/tmp/oldatime}; mkdir -p $OUT
R=$1; COLD=$2; CAT=$3; shift 3
HERE=$(dirname "$0")
for r in $(seq $R); do
  for B in "$@"; do
    T=$(basename $B)-c$COLD-$r
    find $CAT -type f -print0 | xargs -0 touch -a -d '3 days ago'
    rm -rf $OUT/data; sync
    [ "$COLD" = 1 ] && echo 3 > /proc/sys/vm/drop_caches
    flock /tmp/measure.lock bash $HERE/startup.sh $B $CAT $OUT/data $T > /dev/null
    echo "$T $(grep -o 'listen=[0-9.]*' $OUT/$T.log | head -1) user/sys/wall $(awk '/User time|System time|Elapsed/{printf "%s ", $NF}' $OUT/$T.time) $(grep -o 'catalog loaded.*duration=[0-9.]*s' $OUT/$T.log | grep -o 'duration=.*')"
  done
done
