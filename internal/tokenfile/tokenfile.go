// Package tokenfile reads the files of secrets provisiond takes: admin
// API bearer tokens (--admin-token-file), boot token secrets
// (--boot-secret-file) and the client's token. One format for all.
package tokenfile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Read reads a token file: one token per line; blank lines and
// lines starting with # are skipped. A file with no token is an error, as
// is a token shorter than 16 bytes or holding spaces.
func Read(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < 16 || strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("%s:%d: a token is at least 16 characters without spaces (openssl rand -hex 32 makes one)", path, n)
		}
		tokens = append(tokens, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s: no token in the file", path)
	}
	return tokens, nil
}
