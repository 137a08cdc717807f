#!/bin/bash
# usage: ninth.sh BEFORE AFTER
# docs/performance.md, "A booted fleet reboots, and a cold page cache (lead,
# ninth pass)": the pass's before/after runs in turn, each under the
# measurement lock (flock /tmp/measure.lock): the booted fleet's start-up
# (startup.sh, from the store and with --catalog), live heap (live.sh),
# reboot (fleet.sh), and 100,000 matchbox-shape machines on a new database
# with the page cache warm and after drop_caches. KEPT is the kept
# database of a booted fleet, CAT a 100,000 matchbox-shape directory.
KEPT=${KEPT:-/tmp/s6/kept100k}; CAT=${CAT:-/tmp/hmil/mb100k}
B=$1; A=$2; O=${OUT:-/tmp/ninth}; mkdir -p $O; cd "$(dirname "$0")/../.."
echo "== booted fleet start-up (startup.sh), interleaved"
for i in 1 2 3; do for x in $B $A; do t=$(basename $x)
  rm -rf $O/fs; cp -r $KEPT/data $O/fs
  OUT=$O flock /tmp/measure.lock bash docs/perf/startup.sh $x - $O/fs fs-$t-$i | tail -1
  rm -rf $O/fc; cp -r $KEPT/data $O/fc
  OUT=$O flock /tmp/measure.lock bash docs/perf/startup.sh $x $KEPT/catalog $O/fc fc-$t-$i | tail -1
done; done
echo "== booted fleet live heap (live.sh)"
for x in $B $A; do rm -rf $O/fl; cp -r $KEPT/data $O/fl; OUT=$O flock /tmp/measure.lock bash docs/perf/live.sh $x - $O/fl; done
echo "== booted fleet reboots (fleet.sh, 30 s)"
for i in 1 2; do for x in $B $A; do OUT=$O/fleet flock /tmp/measure.lock docs/perf/fleet.sh $x $KEPT/data $(basename $x)-$i 30; done; done
echo "== 100,000 matchbox, new database, page cache warm / cold"
for i in 1 2; do for x in $B $A; do t=$(basename $x); rm -rf $O/nw; mkdir $O/nw; OUT=$O flock /tmp/measure.lock bash docs/perf/startup.sh $x $CAT $O/nw nw-$t-$i | tail -1; done; done
for x in $B $A; do t=$(basename $x); rm -rf $O/nc; mkdir $O/nc; flock /tmp/measure.lock bash -c "sync; echo 3 > /proc/sys/vm/drop_caches; OUT=$O bash docs/perf/startup.sh $x $CAT $O/nc nc-$t" | tail -1; done
for x in $A; do t=$(basename $x); flock /tmp/measure.lock bash -c "sync; echo 3 > /proc/sys/vm/drop_caches; OUT=$O bash docs/perf/startup.sh $x - $O/nc ncs-$t" | tail -1; done
