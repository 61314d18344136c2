package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor/cpu"
)

// An interrupt that arrives while the validation pass runs stops it there
// (issue 12: it took effect only at the next stage), saves a checkpoint at
// the end of the epoch's steps, and a resume re-runs only the validation
// and reproduces the uninterrupted run.
func TestInterruptDuringValidation(t *testing.T) {
	be := cpu.Default()
	dir := t.TempDir()
	full, err := Fit(context.Background(), toyConfig(t, be, filepath.Join(dir, "full.safetensors")))
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "part.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := toyConfig(t, be, ckpt)
	// cancel after the last step of epoch 1: nothing is left to train in
	// the epoch, so only the validation pass can notice
	cfg.AfterBackward = func(step int) {
		if step == 6 {
			cancel()
		}
	}
	part, err := Fit(ctx, cfg)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "during validation") {
		t.Fatalf("err %v, want a cancellation during validation", err)
	}
	if len(part.Epochs) != 0 || part.Stopped != "cancelled" {
		t.Fatalf("validation completed anyway: %d epochs recorded, stopped %q", len(part.Epochs), part.Stopped)
	}
	cfg2 := toyConfig(t, be, ckpt)
	cfg2.Model = toyModel(t, be, 99)
	cfg2.Optimizers = toyOptimizers(t, cfg2.Model)
	res, err := Resume(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Losses, full.Losses) || res.Test != full.Test || res.BestEpoch != full.BestEpoch {
		t.Fatalf("resumed run differs: test %+v best %d, want %+v best %d", res.Test, res.BestEpoch, full.Test, full.BestEpoch)
	}
	for i, e := range res.Epochs {
		if e.TrainLoss != full.Epochs[i].TrainLoss || e.Val != full.Epochs[i].Val {
			t.Errorf("epoch %d: %+v vs %+v", i+1, e, full.Epochs[i])
		}
	}
}

// A training checkpoint without a checksum (or with a wrong one) is
// refused on resume.
func TestResumeRefusesCorruptCheckpoint(t *testing.T) {
	be := cpu.Default()
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "c.safetensors")
	if _, err := Fit(context.Background(), toyConfig(t, be, ckpt)); err != nil {
		t.Fatal(err)
	}
	flipLastByte(t, ckpt)
	_, err := Resume(context.Background(), toyConfig(t, be, ckpt))
	if err == nil || !strings.Contains(err.Error(), "corrupt file") || !strings.Contains(err.Error(), ckpt) {
		t.Fatalf("resume from a bit-flipped checkpoint: %v", err)
	}
}

func flipLastByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
