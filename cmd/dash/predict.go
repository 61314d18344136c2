package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
)

// cmdPredict applies a run's retrained network to new inputs.
func cmdPredict(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("dash predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "run directory with the retrained network (architecture.json, model.json, weights.safetensors)")
	data := fs.String("data", "", "new inputs: a .npy, an .npz holding X (or a single array), or a directory holding X.npy; [N, C, L] or [N, C, H, W] as the run's X")
	to := fs.String("to", "", "write the predictions here: .npy (probabilities, scores or the dense field) or .npz (also logits and labels)")
	device := fs.String("device", "", "compute backend: cpu, vulkan or vulkan:N (default: $DASH_DEVICE, else the best GPU, else cpu)")
	batch := fs.Int("batch", 0, "samples per forward pass (default: the run's batch size)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: dash predict --out RUN --data new.npz [--to preds.npy]\n\nExamples:\n  dash predict --out runs/mnist-20261123-120000 --data digits.npy --to preds.npz\n  dash predict --out runs/darcy-20261123-120000 --data coeffs.npz --to fields.npy --device vulkan\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dash predict: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" || *data == "" {
		fs.Usage()
		return errors.New("dash predict: give the run directory with --out and the inputs with --data")
	}
	if *batch < 0 {
		return fmt.Errorf("dash predict: --batch %d must be positive", *batch)
	}
	if *to != "" {
		if ext := strings.ToLower(filepath.Ext(*to)); ext != ".npy" && ext != ".npz" {
			return fmt.Errorf("dash predict: --to %s: want a .npy or .npz file name", *to)
		}
	}
	in, err := datasets.ReadInputs(*data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	be, reason, err := openBackend(*device)
	if err != nil {
		return err
	}
	defer be.Close()
	logger.Info("backend", "name", be.Name(), "why", reason)
	m, err := dash.LoadContext(ctx, *out, be)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer m.Close()
	if *batch > 0 {
		m.BatchSize = *batch
	}
	x := dash.Array{Shape: in.Shape, Data: in.X}
	if w := m.InputScaleWarning(x); w != "" {
		logger.Warn(w, "data", *data)
	}
	p, err := m.PredictContext(ctx, x)
	if err != nil {
		return fmt.Errorf("--data %s: %w", *data, err)
	}
	what := map[string]string{"class": "class probabilities", "multilabel": "multi-label scores", "dense": "dense fields"}[p.Kind]
	fmt.Fprintf(stdout, "%d samples of %s (%s) → %s %v\n", p.Shape[0], *data, in.DType, what, p.Shape)
	switch p.Kind {
	case "class":
		counts := make([]int, p.Shape[1])
		for _, l := range p.Labels {
			counts[l]++
		}
		fmt.Fprintf(stdout, "predicted labels: %v%s\nsamples per class: %v\n", p.Labels[:min(len(p.Labels), 20)], ellipsis(len(p.Labels) > 20), counts)
	case "multilabel":
		pos := 0
		for _, l := range p.Labels {
			pos += int(l)
		}
		fmt.Fprintf(stdout, "labels with score ≥ 0.5: %d of %d\n", pos, len(p.Labels))
	case "dense":
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range p.Values {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		fmt.Fprintf(stdout, "field values in [%.4g, %.4g]\n", lo, hi)
	}
	if *to == "" {
		return nil
	}
	if err := writePrediction(*to, p); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *to)
	return nil
}

func ellipsis(b bool) string {
	if b {
		return " …"
	}
	return ""
}

// writePrediction writes Values as .npy, or the arrays of p as .npz
// (probabilities/scores/field, logits, labels).
func writePrediction(path string, p *dash.Prediction) error {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		return dash.WriteFileAtomic(path, datasets.EncodeNPY(p.Values, p.Shape))
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		w, err := zw.Create(name + ".npy")
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	main := map[string]string{"class": "probabilities", "multilabel": "scores", "dense": "field"}[p.Kind]
	if err := add(main, datasets.EncodeNPY(p.Values, p.Shape)); err != nil {
		return err
	}
	if p.Kind != "dense" {
		if err := add("logits", datasets.EncodeNPY(p.Logits, p.Shape)); err != nil {
			return err
		}
		ls := p.Shape
		if p.Kind == "class" {
			ls = p.Shape[:1]
		}
		if err := add("labels", datasets.EncodeNPYInt32(p.Labels, ls)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return dash.WriteFileAtomic(path, buf.Bytes())
}
