// Command dash searches a CNN backbone's kernel sizes and dilations with
// DASH (Shen, Khodak, Talwalkar, NeurIPS 2022), retrains the chosen network
// and compares it with the backbone's default kernels.
//
// With no arguments it runs the whole pipeline on the built-in sequential
// MNIST task with the demo budget. See `dash help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

const usage = `dash: neural architecture search for CNN kernels and dilations (DASH)

Usage:
  dash                      run the whole pipeline on sequential MNIST (demo budget)
  dash run      [flags]     search, then for the searched network, the default-kernel baseline and
                            --random N random architectures: hyperparameters + retraining;
                            report.md says whether the search beat chance; writes runs/<task>-<time>/
  dash search   [flags]     architecture search only (writes architecture.json)
  dash hpo      [flags]     hyperparameter stage on a run's searched architecture (--out RUN)
  dash retrain  [flags]     retrain a run's architecture with its hyperparameters (--out RUN)
  dash eval     [flags]     score a run's trained weights on the test split (--out RUN)
  dash predict  [flags]     apply a run's retrained network to new inputs (--out RUN --data new.npz [--to preds.npy])
  dash export   [flags]     write a run's retrained network as ONNX (--out RUN --onnx model.onnx)
  dash summary  --out DIR   searched vs random vs baseline over DIR/seed-*/ (runs of several seeds)
  dash bench    [flags]     DASH speed benchmark: the three aggregated-conv strategies
  dash worker   --nats URL  pull a distributed run's trials and train them (dash run --nats URL | --workers N)
  dash devices              list Vulkan devices and the backend a run would use
  dash data list            list built-in tasks and whether their data is present
  dash data darcy [flags]   pre-generate the Darcy flow dataset

Run 'dash <command> --help' for the flags of a command.

Examples:
  go run ./cmd/dash
  go run ./cmd/dash run --task mnist-perm --seed 1
  go run ./cmd/dash run --seeds 3 --random 4          # search vs random vs baseline over seeds 0, 1, 2
  go run ./cmd/dash run --task darcy --budget demo
  go run ./cmd/dash run --data ./mydata.npz --kernels 3,5,7 --dilations 1,2,4
  go run ./cmd/dash run --out runs/mnist-20261123-120000 --resume
  go run ./cmd/dash bench --json
  go run ./cmd/dash devices
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if p := os.Getenv("DASH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dash: DASH_CPUPROFILE:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "dash: DASH_CPUPROFILE:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "dash: interrupted; completed stages are saved, continue with --resume")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "dash:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(args) == 0 {
		return cmdRun(ctx, "run", nil, stdout, stderr, logger)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "run", "search", "hpo", "retrain", "eval":
		return cmdRun(ctx, args[0], args[1:], stdout, stderr, logger)
	case "worker":
		return cmdWorker(ctx, args[1:], stdout, stderr, logger) // worker.go
	case "summary":
		return cmdSummary(args[1:], stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "devices":
		return cmdDevices(args[1:], stdout)
	case "predict":
		return cmdPredict(ctx, args[1:], stdout, stderr, logger)
	case "export":
		return cmdExport(ctx, args[1:], stdout, stderr, logger)
	case "data":
		return cmdData(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}
