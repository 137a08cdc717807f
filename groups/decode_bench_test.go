package groups

import (
	"fmt"
	"testing"
)

// BenchmarkDecode decodes groups of bootstorm's matchbox shape (a mac
// selector, six metadata keys), each with its own mac, name and address,
// as a catalog load does.
func BenchmarkDecode(b *testing.B) {
	const n = 1024
	data := make([][]byte, n)
	for i := range n {
		data[i] = fmt.Appendf(nil, `{"id":"m%06d","name":"node-%06d","profile":"butane","selector":{"mac":"52:54:00:00:%02x:%02x"},"metadata":{"cidr":"10.128.%d.%d/9","gateway":"10.128.0.1","hostname":"node-%06d","ip_address":"10.128.%d.%d","rack":"r%03d","ssh_authorized_keys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops@example.com"]}}`,
			i, i, i>>8, i&0xff, i>>8, i&0xff, i, i>>8, i&0xff, i/40)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Decode(data[i%n]); err != nil {
			b.Fatal(err)
		}
	}
}
