package probe

import (
	"strings"
	"testing"
)

// FuzzParseTarget: any string either fails to parse or gives a target of
// a supported scheme whose String never shows a password.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4000/api/reportes?limit=1", "https://h/", "tcp://127.0.0.1:9",
		"http://u:secret@h/", "tcp://h", "ftp://h/", "http://", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		switch tg.URL.Scheme {
		case "http", "https", "tcp":
		default:
			t.Fatalf("ParseTarget(%q) accepted scheme %q", s, tg.URL.Scheme)
		}
		if p, ok := tg.URL.User.Password(); ok && p != "" && p != "xxxxx" && strings.Contains(tg.String(), ":"+p+"@") {
			t.Fatalf("String() of %q shows the password", s)
		}
	})
}
