package profiles

import (
	"strings"
	"testing"
)

// FuzzButaneFastPath puts a random value into one hole of one context
// (the others keep safe values), repeated to cross the data URL
// encodings' and unit lines' lengths: the fast path must answer the slow
// path's bytes or decline.
func FuzzButaneFastPath(f *testing.F) {
	fields := []string{"plain", "double", "single", "literal", "literal2", "unit"}
	for i := range fields {
		for _, v := range []string{"node-0042", "true", "null", "~", "1e3", "0x10", ".5", "2001-12-14", "a b", "a:b #c",
			"it's", `"q"`, "é", "a\nb", "\\", "[Install]", "%%", "  x", "x\n"} {
			f.Add(v, uint8(i), uint16(len(v)*7))
		}
	}
	tm, err := Compile("t.yaml", fastContexts, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string, field uint8, rep uint16) {
		d := contextsData()
		name := fields[int(field)%len(fields)]
		if rep%3 == 0 {
			v = strings.Repeat(v, 1+int(rep%600))
		}
		d[name] = v
		fastVsSlow(t, tm, d)
	})
}
