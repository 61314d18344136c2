package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/vk"
)

func cmdDevices(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dash devices", flag.ContinueOnError)
	device := fs.String("device", "", "device spec to evaluate (default: $DASH_DEVICE)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	devs, err := vk.Devices()
	if err != nil {
		fmt.Fprintf(stdout, "Vulkan: unavailable: %v\n", err)
	} else if len(devs) == 0 {
		fmt.Fprintln(stdout, "Vulkan: no devices")
	}
	for i, d := range devs {
		fmt.Fprintf(stdout, "vulkan:%d  %s\n", i, d)
	}
	ch, reason, err := vk.ChooseFrom(pick(*device), devs, err)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nA run would use: %s — %s\n", ch, reason)
	return nil
}

func pick(s string) string {
	if s == "" {
		return os.Getenv("DASH_DEVICE")
	}
	return s
}

func cmdData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "list" {
		return datasets.WriteList(stdout)
	}
	switch args[0] {
	case "darcy":
		fs := flag.NewFlagSet("dash data darcy", flag.ContinueOnError)
		fs.SetOutput(stderr)
		o := datasets.DarcyOptions{RequireCache: true}
		fs.IntVar(&o.NTrain, "train", 1000, "training samples")
		fs.IntVar(&o.NTest, "test", 100, "test samples")
		fs.Int64Var(&o.Seed, "seed", 0, "generator seed")
		fast := fs.Bool("direct85", false, "solve directly on 85×85 (fast, lower fidelity) instead of 421×421 subsampled by 5")
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		if *fast {
			o.Resolution = datasets.DarcyDirect85
		}
		r, err := datasets.GenerateDarcy(ctx, o, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "darcy: %d train + %d test samples, from cache: %v, max relative residual %.2g\n", o.NTrain, o.NTest, r.FromCache, r.MaxResidual)
		for _, p := range r.Paths {
			fmt.Fprintln(stdout, "  ", p)
		}
		return nil
	}
	return fmt.Errorf("dash data: unknown subcommand %q (want list or darcy)", args[0])
}
