package profiles

import (
	"strings"
	"testing"
)

// FuzzButaneFastPath puts a random value into one hole of one context of
// one variant and version (the other holes keep safe values), repeated
// to cross the data URL encodings' and unit lines' lengths: the fast
// path must answer the slow path's bytes or decline.
func FuzzButaneFastPath(f *testing.F) {
	fields := []string{"plain", "double", "single", "literal", "literal2", "unit"}
	for i := range fields {
		for _, v := range []string{"node-0042", "true", "null", "~", "1e3", "0x10", ".5", "2001-12-14", "a b", "a:b #c",
			"it's", `"q"`, "é", "a\nb", "\\", "[Install]", "%%", "  x", "x\n"} {
			f.Add(v, uint8(i+8*(len(v)%6)), uint16(len(v)*7))
		}
	}
	// The contexts template in several variants and versions (fcos
	// 1.0.0 must always decline: it percent-encodes file contents).
	var tms []*Template
	for _, head := range []string{"variant: fcos\nversion: 1.5.0\n", "variant: fcos\nversion: 1.0.0\n",
		"variant: fcos\nversion: 1.1.0\n", "variant: fcos\nversion: 1.7.0\n", "variant: flatcar\nversion: 1.0.0\n", "variant: flatcar\nversion: 1.1.0\n"} {
		tm, err := Compile("t.yaml", strings.Replace(fastContexts, "variant: fcos\nversion: 1.5.0\n", head, 1), nil)
		if err != nil {
			f.Fatal(err)
		}
		tms = append(tms, tm)
	}
	f.Fuzz(func(t *testing.T, v string, field uint8, rep uint16) {
		d := contextsData()
		tm := tms[int(field/8)%len(tms)]
		name := fields[int(field%8)%len(fields)]
		if rep%3 == 0 {
			v = strings.Repeat(v, 1+int(rep%600))
		}
		d[name] = v
		fastVsSlow(t, tm, d)
	})
}
