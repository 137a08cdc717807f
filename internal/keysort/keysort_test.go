package keysort

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStringsIsSlicesSort: Strings gives slices.Sort's order, for keys of
// one length (the radix sort: ids, macs, with shared prefixes, duplicates
// and bytes past ASCII) and of mixed lengths or few (slices.Sort).
func TestStringsIsSlicesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]string{"empty": nil, "one": {"x"}}
	ids := make([]string, 50_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%06d", r.IntN(1_000_000))
	}
	cases["ids with duplicates"] = ids
	macs := make([]string, 20_000)
	for i := range macs {
		macs[i] = fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
	}
	cases["macs"] = macs
	bytesAll := make([]string, 10_000)
	for i := range bytesAll {
		b := make([]byte, 5)
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		bytesAll[i] = string(b)
	}
	cases["every byte"] = bytesAll
	same := make([]string, 5000)
	for i := range same {
		same[i] = "same"
	}
	cases["all equal"] = same
	mixed := append(slices.Clone(ids[:10_000]), "m1", "", "m0000000", "zz")
	cases["mixed lengths"] = mixed
	cases["small"] = []string{"b", "a", "c", "a"}
	long := make([]string, 5000)
	for i := range long {
		long[i] = fmt.Sprintf("%040d", r.IntN(1_000_000))
	}
	cases["longer than the radix takes"] = long
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			want := slices.Clone(in)
			slices.Sort(want)
			got := slices.Clone(in)
			Strings(got)
			if !slices.Equal(got, want) {
				t.Fatalf("Strings differs from slices.Sort")
			}
		})
	}
}

func TestKeys(t *testing.T) {
	m := map[string]int{}
	for i := range 10_000 {
		m[fmt.Sprintf("g%05d", (i*7919)%10_000)] = i
	}
	ks := Keys(m)
	if len(ks) != len(m) || !slices.IsSorted(ks) {
		t.Fatalf("Keys: %d keys, sorted %v", len(ks), slices.IsSorted(ks))
	}
	if len(Keys(map[string]bool{})) != 0 {
		t.Fatal("Keys of an empty map")
	}
}

func BenchmarkStrings(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%06d", i)
	}
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, sorter := range []struct {
		name string
		sort func([]string)
	}{{"radix", Strings}, {"slices.Sort", slices.Sort[[]string]}} {
		b.Run(sorter.name, func(b *testing.B) {
			s := make([]string, len(ids))
			for b.Loop() {
				copy(s, ids)
				sorter.sort(s)
			}
		})
	}
}

// TestSorted: Sorted gives the keys as Keys does and each key's value at
// its place, on the radix path (ids of one length) and the other.
func TestSorted(t *testing.T) {
	for _, n := range []int{0, 3, 10_000} {
		for _, mixed := range []bool{false, true} {
			m := map[string]int{}
			for i := range n {
				k := fmt.Sprintf("g%05d", (i*7919)%n)
				if mixed && i%3 == 0 {
					k = fmt.Sprintf("x%d", i)
				}
				m[k] = i
			}
			keys, vals := Sorted(m)
			if !slices.Equal(keys, Keys(m)) || len(vals) != len(keys) {
				t.Fatalf("n=%d mixed=%v: keys differ from Keys", n, mixed)
			}
			for i, k := range keys {
				if vals[i] != m[k] {
					t.Fatalf("n=%d mixed=%v: value of %q is %d, want %d", n, mixed, k, vals[i], m[k])
				}
			}
		}
	}
}
