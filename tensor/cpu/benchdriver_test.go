//go:build benchdriver

package cpu

// A tuning driver run by hand; it builds only with -tags benchdriver.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMatMulTune prints the best-of-N GFLOP/s of each kernel configuration
// listed in $SGEMM_TUNE ("name,kc,mc,nc,aInL1,threads;..."), for tuning the
// blocking parameters on a shared machine (a driver: `go test -tags benchdriver
// -run TestMatMulTune ./tensor/cpu`; it fails when the variable is unset).
func TestMatMulTune(t *testing.T) {
	spec := os.Getenv("SGEMM_TUNE")
	if spec == "" {
		t.Fatal("set SGEMM_TUNE=\"name,kc,mc,nc,aInL1,threads;...\" to tune")
	}
	shapes := [][5]int{{1024, 1024, 1024, 0, 0}, {64, 32000, 704, 0, 0}, {64, 704, 32000, 0, 1}, {704, 32000, 64, 1, 0}}
	bufs := make([][3][]float32, len(shapes))
	r := rand.New(rand.NewPCG(1, 1))
	for i, s := range shapes {
		bufs[i] = [3][]float32{sgemmRand(r, s[0]*s[2]), sgemmRand(r, s[2]*s[1]), make([]float32, s[0]*s[1])}
	}
	cfgs := strings.Split(spec, ";")
	kns := make([]*sgemmKernel, len(cfgs))
	ths := make([]int, len(cfgs))
	for ci, cfg := range cfgs {
		var name string
		var kc, mc, nc, inl1 int
		if _, err := fmt.Sscanf(strings.ReplaceAll(cfg, ",", " "), "%s %d %d %d %d %d", &name, &kc, &mc, &nc, &inl1, &ths[ci]); err != nil {
			t.Fatal(err)
		}
		for _, base := range supportedKernels() {
			if base.name == name {
				kns[ci] = &sgemmKernel{name: name, mr: base.mr, nr: base.nr, kc: kc, mc: mc, nc: nc, aInL1: inl1 != 0, fn: base.fn, tr: base.tr}
			}
		}
		if kns[ci] == nil {
			t.Fatalf("no kernel %q", name)
		}
	}
	// Interleave the configurations over several rounds and keep each one's
	// best time, so that load from other processes affects all alike.
	best := make([][]time.Duration, len(cfgs))
	for ci := range best {
		best[ci] = make([]time.Duration, len(shapes))
		for i := range best[ci] {
			best[ci][i] = 1 << 62
		}
	}
	for round := 0; round < 5; round++ {
		for ci, kn := range kns {
			for i, s := range shapes {
				for rep := 0; rep < 4; rep++ {
					t0 := time.Now()
					gemmBatch(kn, s[3] != 0, s[4] != 0, 1, s[0], s[1], s[2], 1, bufs[i][0], 0, 0, bufs[i][1], 0, 0, 0, bufs[i][2], 0, 0, ths[ci])
					best[ci][i] = min(best[ci][i], time.Since(t0))
				}
			}
		}
	}
	for ci, cfg := range cfgs {
		line := cfg
		for i, s := range shapes {
			line += fmt.Sprintf("  %6.1f", 2*float64(s[0]*s[1]*s[2])/best[ci][i].Seconds()/1e9)
		}
		t.Log(line)
	}
}
