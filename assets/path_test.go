package assets

import (
	"errors"
	"testing"
)

func TestAssetName(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
	}{
		{name: "file", path: "/vmlinuz", want: "vmlinuz"},
		{name: "nested", path: "/flatcar/stable/initrd.cpio.gz", want: "flatcar/stable/initrd.cpio.gz"},
		{name: "no leading slash", path: "vmlinuz", want: "vmlinuz"},
		{name: "dots inside a name", path: "/flatcar/a..b", want: "flatcar/a..b"},
		{name: "root", path: "/", wantErr: errEmptyPath},
		{name: "empty", path: "", wantErr: errEmptyPath},
		{name: "dot-dot", path: "/../secret", wantErr: errInvalidPath},
		{name: "nested dot-dot", path: "/a/../../secret", wantErr: errInvalidPath},
		{name: "dot", path: "/./vmlinuz", wantErr: errInvalidPath},
		{name: "absolute", path: "//etc/passwd", wantErr: errInvalidPath},
		{name: "double slash", path: "/a//b", wantErr: errInvalidPath},
		{name: "trailing slash", path: "/flatcar/", wantErr: errInvalidPath},
		{name: "invalid UTF-8", path: "/\xff", wantErr: errInvalidPath},
		{name: "backslash", path: `/..\secret`, wantErr: errBadChar},
		{name: "NUL", path: "/vmlinuz\x00.json", wantErr: errBadChar},
		{name: "hidden file", path: "/.env", wantErr: errHidden},
		{name: "hidden directory", path: "/flatcar/.git/config", wantErr: errHidden},
		{name: "encoded dot-dot stays literal", path: "/%2e%2e/secret", want: "%2e%2e/secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := assetName(tc.path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("assetName(%q) error = %v, want %v", tc.path, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("assetName(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}
