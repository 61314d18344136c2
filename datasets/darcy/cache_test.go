package darcy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An unwritable cache is an error before any solving when the caller
// requires the cache (`dash data darcy`), and not otherwise (issue 12).
func TestRequireCacheUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "cache") // cannot be created, even as root
	before := SamplesSolved()
	_, err := Generate(context.Background(), Options{Resolution: Direct85, NTrain: 2, NTest: 1, CacheDir: dir, RequireCache: true}, nil)
	if err == nil {
		t.Fatal("no error for an unwritable cache directory")
	}
	for _, w := range []string{dir, "cannot be created", "DASH_CACHE"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if n := SamplesSolved() - before; n != 0 {
		t.Errorf("%d samples solved before the cache check", n)
	}
}

// A cache served from disk needs no write access.
func TestRequireCacheReadOnlyHit(t *testing.T) {
	dir := t.TempDir()
	o := Options{Resolution: Direct85, NTrain: 2, NTest: 1, Seed: 5, CacheDir: dir, RequireCache: true}
	if _, err := Generate(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	r, err := Generate(context.Background(), o, nil)
	if err != nil || !r.FromCache {
		t.Fatalf("second call: from cache %v, err %v", r != nil && r.FromCache, err)
	}
}
