package dash

import (
	"bytes"
	"sync"
	"testing"
)

func TestPrefixWriter(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"epoch 1/3 loss 0.5\n"}, "[a] epoch 1/3 loss 0.5\n"},
		{"two lines in one write", []string{"x\ny\n"}, "[a] x\n[a] y\n"},
		{"a line over two writes", []string{"epo", "ch 1\n", "z\n"}, "[a] epoch 1\n[a] z\n"},
		{"no newline at the end", []string{"x\ny"}, "[a] x\n[a] y"},
		{"empty write", []string{"", "x\n"}, "[a] x\n"},
		{"blank line", []string{"\n"}, "[a] \n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			w := &prefixWriter{w: &out, mu: &sync.Mutex{}, prefix: "[a] ", start: true}
			for _, s := range c.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
				}
			}
			if out.String() != c.want {
				t.Fatalf("wrote %q, want %q", out.String(), c.want)
			}
		})
	}
}
