package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/tensor/cpu"
)

// FuzzResumeCheckpoint feeds arbitrary training checkpoints to a resume:
// the raw bytes (mostly stopped by the checksum), and the same content
// re-encoded with a valid checksum, so that the metadata and tensor checks
// behind the checksum are exercised too. Errors are fine; panics are not.
func FuzzResumeCheckpoint(f *testing.F) {
	be := cpu.Default()
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.safetensors")
	cfg := toyConfig(&testing.T{}, be, seed)
	cfg.Epochs = 1
	if _, err := Fit(context.Background(), cfg); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	file, err := checkpoint.Decode(good)
	if err != nil {
		f.Fatal(err)
	}
	for k, v := range map[string]string{"train.step": "-5", "train.epoch": "-1", "train.losses": "[1,", "train.best_score": "x", "format": "other", "train.global_step": "-3", "train.best_epoch": "100000"} {
		old := file.Metadata[k]
		file.Metadata[k] = v
		var b bytes.Buffer
		if err := checkpoint.Encode(&b, file); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
		file.Metadata[k] = old
	}
	path := filepath.Join(dir, "fuzz.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		try := func(data []byte) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			c := toyConfig(t, be, path)
			c.Epochs, c.Split.Test = 1, nil
			_, _ = Resume(context.Background(), c)
		}
		try(data)
		if file, err := checkpoint.Decode(data); err == nil {
			var b bytes.Buffer
			if checkpoint.Encode(&b, file) == nil {
				try(b.Bytes())
			}
		}
	})
}
