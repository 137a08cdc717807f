package groups

import "unsafe"

// slab hands out interface values (any) holding strings or float64s,
// the scalar values of decoded metadata, without an allocation each.
//
// Converting a string to any allocates a 16-byte copy of its header for
// the interface to point at (a float64, 8 bytes); at 100,000 groups of
// a handful of metadata values each that is most of a catalog's heap
// objects, every one of them marked by the garbage collector on every
// cycle for as long as the catalog is served. A slab keeps the values
// of one group in a few shared arrays instead and points each interface
// at its element: the same dynamic type and value as any(s), so
// encoding/json, text/template, reflect.DeepEqual and type switches see
// no difference. Elements are written once, before their interface is
// handed out, and never again; an array stays alive as long as any
// interface points into it.
type slab struct {
	strs   []string
	floats []float64
}

// eface is the layout of an empty interface value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

var (
	stringType  = typeOf("")
	float64Type = typeOf(0.0)
)

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// box returns an interface value with dynamic type typ whose data word
// is p, as the compiler builds one for a value it has copied to *p.
func box(typ, p unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// str returns any(s).
func (b *slab) str(s string) any {
	if s == "" {
		return s // no allocation: the runtime points it at its zero value
	}
	if len(b.strs) == cap(b.strs) {
		// Decode sizes the first to the metadata's string values.
		b.strs = make([]string, 0, max(4, 2*cap(b.strs)))
	}
	b.strs = append(b.strs, s)
	return box(stringType, unsafe.Pointer(&b.strs[len(b.strs)-1]))
}

// float returns any(f).
func (b *slab) float(f float64) any {
	if len(b.floats) == cap(b.floats) {
		b.floats = make([]float64, 0, max(4, 2*cap(b.floats)))
	}
	b.floats = append(b.floats, f)
	return box(float64Type, unsafe.Pointer(&b.floats[len(b.floats)-1]))
}
