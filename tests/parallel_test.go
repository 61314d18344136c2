package tests

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dash-go/dash/dash"
)

// TestParallelNetworks trains the networks of a run two at a time
// (Config.Parallel = 2), interrupts it while two networks are in flight,
// resumes it, and checks that every network's hyperparameters, curve and
// test metric are those of a run that trained them one after another: the
// controls do not depend on the scheduling.
func TestParallelNetworks(t *testing.T) {
	seq := smokeConfig(t, "mnist")
	seq.Parallel = 1
	want, err := dash.Run(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}

	par := smokeConfig(t, "mnist")
	par.Parallel = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lines []string
	par.Progress = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
		if _, err := os.Stat(filepath.Join(par.OutDir, "hparams-random-1.json")); err == nil {
			cancel() // random-1 is retraining; another network is in flight too
		}
		return len(p), nil
	})
	if _, err := dash.Run(ctx, par); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted parallel run: %v, want context.Canceled", err)
	}
	// each progress line names its network
	labels := map[string]bool{}
	first, last := map[string]int{}, map[string]int{}
	for li, l := range lines {
		if !strings.HasPrefix(l, "[") {
			continue // the search's lines come before the networks
		}
		i := strings.Index(l, "] ")
		if i < 0 {
			t.Fatalf("progress line %q: no closing ] after the network", l)
		}
		n := l[1:i]
		if !labels[n] {
			first[n] = li
		}
		labels[n] = true
		last[n] = li
	}
	// the searched network and the baseline start together: their lines interleave
	if first["baseline"] > last["dash"] || first["dash"] > last["baseline"] {
		t.Errorf("dash's progress lines %d–%d and baseline's %d–%d do not overlap: not trained at once",
			first["dash"], last["dash"], first["baseline"], last["baseline"])
	}
	for _, n := range []string{"dash", "baseline"} {
		if !labels[n] {
			t.Errorf("no progress line starts with [%s]: %v", n, labels)
		}
	}
	par.Progress = nil
	par.Resume = true
	got, err := dash.Run(context.Background(), par)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if len(got.Networks) != len(want.Networks) {
		t.Fatalf("%d networks, want %d", len(got.Networks), len(want.Networks))
	}
	for i, w := range want.Networks {
		g := got.Networks[i]
		g.Seconds, w.Seconds, g.HPOSeconds, w.HPOSeconds = 0, 0, 0, 0
		g.HParams.Seconds, w.HParams.Seconds = 0, 0
		for j := range g.Curve {
			g.Curve[j].Seconds = 0
		}
		for j := range w.Curve {
			w.Curve[j].Seconds = 0
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("network %d trained two at a time and resumed:\n%+v\none after another:\n%+v", i, g, w)
		}
	}
	gc, _ := json.Marshal(got.Controls) // NaN correlations (ties) compare as JSON null
	wc, _ := json.Marshal(want.Controls)
	if string(gc) != string(wc) {
		t.Errorf("controls %s, want %s", gc, wc)
	}
}
