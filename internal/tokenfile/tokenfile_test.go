package tokenfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	goodToken  = "0123456789abcdef0123456789abcdef"
	otherToken = "fedcba9876543210fedcba9876543210"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          int
	}{
		{"tokens and comments", "# admins\n" + goodToken + "\n\n  " + otherToken + "  \n", 2},
		{"empty", "# nothing\n\n", -1},
		{"short token", "short\n", -1},
		{"token with a space", "0123456789abcdef 0123456789abcdef\n", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.WriteFile(path, []byte(tc.content), 0o600)
			tokens, err := Read(path)
			if tc.want < 0 {
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Errorf("err %v, want one naming the file", err)
				}
				return
			}
			if err != nil || len(tokens) != tc.want {
				t.Errorf("%v %v", tokens, err)
			}
		})
	}
}
