package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/dist"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/vk"
)

// natsFlags are the flags of a run spread over workers through NATS
// JetStream (package dist).
type natsFlags struct {
	url, creds, nkey, tlsCert, tlsKey, tlsCA string
	ackWait                                  time.Duration
	workers                                  int
	workerDevices                            string
}

// addConnFlags adds the connection flags shared by 'dash run' and 'dash worker'.
func addConnFlags(fs *flag.FlagSet, n *natsFlags) {
	fs.StringVar(&n.creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed, as made by nsc)")
	fs.StringVar(&n.nkey, "nats-nkey", "", "NATS NKey seed file")
	fs.StringVar(&n.tlsCert, "nats-tls-cert", "", "client certificate for TLS to the NATS server (with --nats-tls-key)")
	fs.StringVar(&n.tlsKey, "nats-tls-key", "", "client certificate's private key")
	fs.StringVar(&n.tlsCA, "nats-tls-ca", "", "CA bundle to verify the NATS server's certificate (tls:// URLs)")
	fs.DurationVar(&n.ackWait, "nats-ack-wait", 30*time.Second, "a trial whose worker sends no heartbeat for this long goes to another worker")
}

// addNATSFlags adds --nats, --workers and the connection flags to 'dash run'.
func addNATSFlags(fs *flag.FlagSet) *natsFlags {
	n := &natsFlags{}
	fs.StringVar(&n.url, "nats", "", "spread the trials over workers through this NATS JetStream server, e.g. nats://host:4222 (start workers with 'dash worker --nats URL')")
	fs.IntVar(&n.workers, "workers", 0, "start an embedded NATS server (unless --nats) and this many local worker processes (e.g. one per GPU)")
	fs.StringVar(&n.workerDevices, "worker-devices", "", "with --workers: devices of the local workers in turn, e.g. vulkan:0,vulkan:1 (default: --device for all)")
	addConnFlags(fs, n)
	return n
}

func (n *natsFlags) options(name string) dist.Options {
	return dist.Options{URL: n.url, Creds: n.creds, NKey: n.nkey, TLSCert: n.tlsCert, TLSKey: n.tlsKey, TLSCA: n.tlsCA,
		AckWait: n.ackWait, Name: name}
}

// args are the connection flags again, for worker processes.
func (n *natsFlags) args() []string {
	a := []string{"--nats", n.url, "--nats-ack-wait", n.ackWait.String()}
	for _, kv := range [][2]string{{"nats-creds", n.creds}, {"nats-nkey", n.nkey}, {"nats-tls-cert", n.tlsCert}, {"nats-tls-key", n.tlsKey}, {"nats-tls-ca", n.tlsCA}} {
		if kv[1] != "" {
			a = append(a, "--"+kv[0], kv[1])
		}
	}
	return a
}

// attach sets cfg.Trials to a dist.Coordinator when 'dash run' has --nats
// or --workers, starting the embedded server and the local workers asked
// for. The returned function stops what it started.
func (n *natsFlags) attach(ctx context.Context, cmd string, f *runFlags, cfg *dash.Config, stderr io.Writer, logger *slog.Logger) (func(), error) {
	if n == nil || (n.url == "" && n.workers == 0) {
		return func() {}, nil
	}
	if cmd != "run" {
		return nil, fmt.Errorf("dash %s: --nats and --workers are for 'dash run'", cmd)
	}
	if n.workers < 0 {
		return nil, fmt.Errorf("--workers %d: want 0 or more", n.workers)
	}
	if n.workerDevices != "" && n.workers == 0 {
		return nil, errors.New("--worker-devices goes with --workers N")
	}
	if n.workerDevices != "" {
		for _, d := range strings.Split(n.workerDevices, ",") {
			if _, _, err := vk.ParseDevice(strings.TrimSpace(d)); err != nil {
				return nil, fmt.Errorf("--worker-devices: %w", err)
			}
		}
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if n.url == "" {
		dir, err := os.MkdirTemp("", "dash-nats-")
		if err != nil {
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(dir) })
		srv, err := dist.StartEmbedded(dir, 0)
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, srv.Shutdown)
		n.url = srv.URL
		logger.Info("embedded NATS server", "url", n.url)
	}
	c, err := dist.Connect(ctx, n.options("dash-coordinator"))
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, c.Close)
	data := dist.DataSpec{Task: f.task, Backbone: f.backbone, Seed: f.seed, Budget: f.budget, TrainLimit: f.sizes.TrainLimit, Target: f.kind, Classes: f.classes}
	if f.data != "" {
		data.Task = ""
		if data.File, data.FileSHA256, err = dist.UploadData(ctx, c, f.data); err != nil {
			stop()
			return nil, err
		}
	}
	co := &dist.Coordinator{C: c, RunName: dist.RunID(cfg.OutDir), Data: data, Log: logger}
	cfg.Trials = co
	if n.workers > 0 {
		exe, err := os.Executable()
		if err != nil {
			stop()
			return nil, err
		}
		wdir, err := os.MkdirTemp("", "dash-workers-")
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(wdir) })
		var devs []string
		if n.workerDevices != "" {
			for _, d := range strings.Split(n.workerDevices, ",") {
				if d = strings.TrimSpace(d); d != "" {
					devs = append(devs, d)
				}
			}
		}
		for i := 1; i <= n.workers; i++ {
			args := append([]string{"worker", "--dir", filepath.Join(wdir, strconv.Itoa(i)), "--id", "local-" + strconv.Itoa(i)}, n.args()...)
			dev := f.device
			if len(devs) > 0 {
				dev = devs[(i-1)%len(devs)]
			}
			if dev != "" {
				args = append(args, "--device", dev)
			}
			p := exec.Command(exe, args...)
			p.Stdout, p.Stderr = stderr, stderr
			if err := p.Start(); err != nil {
				stop()
				return nil, fmt.Errorf("start worker %d: %w", i, err)
			}
			stops = append(stops, func() {
				_ = p.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { _ = p.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = p.Process.Kill()
					<-done
				}
			})
		}
		logger.Info("local workers", "n", n.workers, "nats", n.url)
	}
	logger.Info("trials go through NATS JetStream", "url", n.url, "run", co.RunName)
	return stop, nil
}

// cmdWorker is 'dash worker': pull trials and train them.
func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	n := &natsFlags{}
	fs := flag.NewFlagSet("dash worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&n.url, "nats", "", "NATS JetStream server to pull trials from, e.g. nats://host:4222 (required)")
	addConnFlags(fs, n)
	device := fs.String("device", "", "compute backend: cpu, vulkan or vulkan:N (default: $DASH_DEVICE, else the best GPU, else cpu)")
	conc := fs.Int("concurrency", 1, "trials trained at once (each with its own backend)")
	dir := fs.String("dir", "", "work directory for trial checkpoints and downloaded data (default: <user cache>/dash-worker)")
	id := fs.String("id", "", "worker name in logs and results (default: host-pid)")
	progress := fs.Bool("progress", false, "print per-epoch training progress")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dash worker --nats URL [flags]\n\nPulls trials published by 'dash run --nats URL' and trains them until interrupted.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dash worker: unexpected argument %q", fs.Arg(0))
	}
	if n.url == "" {
		return errors.New("dash worker: give the NATS server with --nats nats://host:4222")
	}
	if *conc < 1 {
		return fmt.Errorf("--concurrency %d: want at least 1", *conc)
	}
	if *dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("--dir not given and no user cache directory: %w", err)
		}
		*dir = filepath.Join(cache, "dash-worker")
	}
	// fail early on a bad --device
	be, reason, err := openBackend(*device)
	if err != nil {
		return err
	}
	logger.Info("backend", "name", be.Name(), "why", reason)
	be.Close()
	c, err := dist.Connect(ctx, n.options("dash-worker "+*id))
	if err != nil {
		return err
	}
	defer c.Close()
	w := &dist.Worker{C: c, ID: *id, Dir: *dir, Concurrency: *conc, Log: logger,
		NewBackend: func() (tensor.Backend, error) {
			be, _, err := openBackend(*device)
			return be, err
		},
		Load: func(ctx context.Context, d dist.DataSpec, path string) (*datasets.Task, *datasets.Split, error) {
			f := &runFlags{task: d.Task, data: path, kind: d.Target, classes: d.Classes, seed: d.Seed, budget: d.Budget, sizes: dash.BudgetOverrides{TrainLimit: d.TrainLimit}}
			task, split, err := loadTask(ctx, f, stderr)
			if err != nil {
				return nil, nil, err
			}
			if d.Backbone != "" {
				t := *task
				t.Backbone = d.Backbone
				task = &t
			}
			return task, split, nil
		},
	}
	if *progress {
		w.Progress = stderr
	}
	logger.Info("worker ready", "nats", n.url, "version", dist.Version, "concurrency", *conc, "dir", *dir)
	return w.Serve(ctx)
}
