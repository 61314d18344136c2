// Package testenv decides what a test does when something it needs is
// missing: skip with the reason, or — in CI, where DASH_NO_SKIP=1 — fail
// with it, so a missing device, tool or data file cannot hide a test.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// NoSkip reports whether skips are failures (DASH_NO_SKIP=1, set by .ci/run).
func NoSkip() bool { return os.Getenv("DASH_NO_SKIP") == "1" }

// Skip skips t, saying why, or fails it with the same reason when NoSkip.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if NoSkip() {
		t.Fatalf("%s (DASH_NO_SKIP=1: a skip is a failure here)", why)
	}
	t.Skipf("%s (DASH_NO_SKIP=1 makes this a failure)", why)
}
