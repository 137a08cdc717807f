package cli

import (
	"os"
	"testing"

	"github.com/provisiond/provisiond/catalog"
)

func TestWriteLayoutConfinesNames(t *testing.T) {
	for _, name := range []string{"../x", "a/b", ".hidden", "..", ""} {
		c := catalog.New()
		c.Templates["generic"][name] = "x"
		if err := writeLayout(t.TempDir(), c); err == nil {
			t.Errorf("template name %q written", name)
		}
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
