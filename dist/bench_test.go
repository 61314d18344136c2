package dist

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/dash-go/dash/dash"
)

// BenchmarkSchedulingOverhead measures what the queue adds to each trial:
// the coordinator publishes a trial, a worker pulls it, "trains" it in no
// time, stores the result and acknowledges it, and the coordinator's watch
// receives the result. One op is one trial, with one worker.
func BenchmarkSchedulingOverhead(b *testing.B) {
	f := newFixture(b)
	w := f.worker(b, "bench")
	w.run = func(context.Context, dash.Config, *dash.Trial) (*dash.TrialResult, error) {
		return &dash.TrialResult{BestVal: 1}, nil
	}
	stop := serve(w)
	defer stop()
	co := f.coordinator()
	if err := os.MkdirAll(f.cfg.OutDir, 0o755); err != nil {
		b.Fatal(err)
	}
	base := f.trial(b, 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr := *base
		tr.Label = fmt.Sprint("bench-", i) // a new trial ID each time
		if _, err := co.Run(ctx, f.cfg, &tr); err != nil {
			b.Fatal(err)
		}
	}
}
