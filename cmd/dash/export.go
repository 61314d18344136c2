package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/onnx"
	"github.com/dash-go/dash/tensor/cpu"
)

// cmdExport writes a run's retrained network as an ONNX model.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("dash export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "run directory with the retrained network (architecture.json, model.json, weights.safetensors)")
	path := fs.String("onnx", "", "ONNX file to write (default: RUN/model.onnx)")
	fold := fs.Bool("fold-bn", false, "fold batch norms that follow a convolution into its weights (default: BatchNormalization nodes)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: dash export --out RUN --onnx model.onnx\n\nWrites the retrained network as ONNX (opset 17): the input normalisation, the searched\nconvolutions with their dilations and padding, batch norm, the head and the task's output\n(probabilities, scores or the dense field, as 'dash predict' writes them).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dash export: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return errors.New("dash export: give the run directory with --out")
	}
	if *path == "" {
		*path = filepath.Join(*out, "model.onnx")
	}
	be := cpu.New()
	defer be.Close()
	m, err := dash.LoadContext(ctx, *out, be)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer m.Close()
	if err := onnx.WriteFile(*path, m, onnx.Options{FoldBatchNorm: *fold}); err != nil {
		return fmt.Errorf("--onnx %s: %w", *path, err)
	}
	st, err := os.Stat(*path)
	if err != nil {
		return err
	}
	logger.Info("export", "run", *out, "task", m.Spec.Task, "backbone", m.Spec.Backbone)
	fmt.Fprintf(stdout, "wrote %s (%d bytes, ONNX opset %d): input [N %v] → %s\n", *path, st.Size(), onnx.Opset,
		trimBrackets(m.InputShape()), map[string]string{"class": "probabilities, logits", "multilabel": "scores, logits", "dense": "field"}[m.Spec.Kind])
	return nil
}

func trimBrackets(s []int) string {
	b := fmt.Sprint(s)
	return b[1 : len(b)-1]
}
