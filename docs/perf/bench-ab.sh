#!/bin/bash
# usage: bench-ab.sh ROUNDS PATTERN BENCHTIME TESTBIN...: Go benchmarks of several test binaries
# (go test -c), interleaved round by round, each run pinned to CPU 1 under
# /tmp/measure.lock; prints min and median ns/op per benchmark and binary.
# docs/performance.md, "Memory, ninth pass".
R=$1; P=$2; T=$3; shift 3
out=$(mktemp)
for r in $(seq $R); do for b in "$@"; do
  flock /tmp/measure.lock taskset -c 1 $b -test.run XXX -test.bench "$P" -test.benchtime $T -test.benchmem -test.count 1 | grep '^Bench' | sed "s|^|$(basename $b) |" >> $out
done; done
python3 - $out <<'PY'
import sys, collections, statistics
d = collections.defaultdict(list); al = {}
for line in open(sys.argv[1]):
    f = line.split()
    key = (f[1], f[0]); d[key].append(float(f[3]))
    if 'allocs/op' in f: al[key] = f[f.index('allocs/op')-1]
for (bench, binn) in sorted(d):
    v = d[(bench, binn)]
    print(f"{bench:40s} {binn:18s} n={len(v)} min={min(v):.1f} median={statistics.median(v):.1f} ns/op allocs={al.get((bench,binn))}")
PY
