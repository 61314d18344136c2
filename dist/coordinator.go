package dist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Coordinator is a dash.Executor that runs trials on workers: it publishes
// each trial on the work-queue stream (deduplicated by its ID) and waits
// for its result in the result bucket. A restarted coordinator finds the
// results of finished trials in the bucket and republishes nothing for
// them, so set it on dash.Config.Trials and run with Resume.
type Coordinator struct {
	C       *Conn
	RunName string // run name in trial IDs (RunID of the run directory)
	Data    DataSpec
	Log     *slog.Logger
	// Stall is how often a wait for a trial logs that it is still waiting
	// (default 1 min).
	Stall time.Duration

	mu        sync.Mutex
	published map[string]bool
	// Stats
	Published, Cached int
}

var _ dash.Executor = (*Coordinator)(nil)

func (co *Coordinator) log() *slog.Logger {
	if co.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return co.Log
}

// UploadData puts a user's data file into the data object store (once per
// content) and returns its DataSpec fields.
func UploadData(ctx context.Context, c *Conn, path string) (name, sum string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("--data: %w", err)
	}
	if st.IsDir() {
		return "", "", fmt.Errorf("--data %s: with --nats the data must be one .npz file, not a directory (numpy.savez(file, X=X, y=y))", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("--data: %w", err)
	}
	sum = sha256Hex(b)
	name = "sha256-" + sum + "/" + filepath.Base(path)
	if info, err := c.Data.GetInfo(ctx, name); err == nil && info.Size == uint64(len(b)) {
		return name, sum, nil
	}
	if _, err := c.Data.PutBytes(ctx, name, b); err != nil {
		return "", "", fmt.Errorf("upload %s to the %s object store: %w", path, DataStore, err)
	}
	return name, sum, nil
}

func (co *Coordinator) job(t *dash.Trial) (*Job, []byte, error) {
	j := &Job{Version: Version, Run: co.RunName, ID: TrialID(co.RunName, t), Data: co.Data, Trial: t}
	b, err := jsonMarshal(j)
	return j, b, err
}

// publish puts the trial on the stream unless its result is stored or it
// was published by this coordinator already (the stream deduplicates the
// rest by ID).
func (co *Coordinator) publish(ctx context.Context, j *Job, body []byte) error {
	co.mu.Lock()
	if co.published == nil {
		co.published = map[string]bool{}
	}
	done := co.published[j.ID]
	co.published[j.ID] = true
	co.mu.Unlock()
	if done {
		return nil
	}
	msgID := j.ID
	if e, err := co.C.Results.Get(ctx, j.ID); err == nil {
		r, derr := decodeResult(e.Value())
		if derr == nil && r.Err == "" {
			co.Cached++
			return nil
		}
		// a failure stored by an earlier coordinator's run: try again
		// (under a new message ID, past the stream's deduplication)
		co.log().Warn("trial failed before; trying it again", "trial", j.ID, "err", errors.Join(derr, errorString(r)))
		if err := co.C.Results.Delete(ctx, j.ID); err != nil {
			return fmt.Errorf("result bucket: %w", err)
		}
		msgID = fmt.Sprintf("%s.retry.%d", j.ID, time.Now().UnixNano())
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("result bucket: %w", err)
	}
	msg := nats.NewMsg(subject(co.RunName))
	msg.Data = body
	msg.Header.Set(VersionHeader, Version)
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	if _, err := co.C.JS.PublishMsg(ctx, msg); err != nil {
		co.mu.Lock()
		delete(co.published, j.ID)
		co.mu.Unlock()
		return fmt.Errorf("publish trial %s: %w", j.ID, err)
	}
	co.Published++
	co.log().Debug("published", "trial", j.ID)
	return nil
}

func errorString(r *Result) error {
	if r == nil || r.Err == "" {
		return nil
	}
	return errors.New(r.Err)
}

// Prefetch publishes trials so that workers start on them.
func (co *Coordinator) Prefetch(ctx context.Context, cfg dash.Config, ts []*dash.Trial) error {
	for _, t := range ts {
		j, b, err := co.job(t)
		if err != nil {
			return err
		}
		if err := co.publish(ctx, j, b); err != nil {
			return err
		}
	}
	return nil
}

// Run publishes the trial (if needed), waits for its result and copies the
// files it names into cfg.OutDir.
func (co *Coordinator) Run(ctx context.Context, cfg dash.Config, t *dash.Trial) (*dash.TrialResult, error) {
	j, b, err := co.job(t)
	if err != nil {
		return nil, err
	}
	if err := co.publish(ctx, j, b); err != nil {
		return nil, err
	}
	r, err := co.wait(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	if r.Err != "" {
		return nil, fmt.Errorf("trial %s failed on worker %s: %s", j.ID, r.Worker, r.Err)
	}
	if r.Result == nil {
		return nil, fmt.Errorf("trial %s: worker %s stored no result", j.ID, r.Worker)
	}
	for _, f := range r.Result.Files {
		if f != filepath.Base(f) || f == "." || f == ".." {
			return nil, fmt.Errorf("trial %s: bad file name %q in its result", j.ID, f)
		}
		data, err := co.C.Trials.GetBytes(ctx, fileObject(j.ID, f))
		if err != nil {
			return nil, fmt.Errorf("trial %s: fetch %s from the %s object store: %w", j.ID, f, TrialStore, err)
		}
		if err := dash.WriteFileAtomic(filepath.Join(cfg.OutDir, f), data); err != nil {
			return nil, err
		}
	}
	co.log().Info("trial done", "trial", j.ID, "worker", r.Worker, "train_seconds", fmt.Sprintf("%.3f", r.Seconds), "attempt", r.Attempt, "device", r.Device)
	return r.Result, nil
}

// wait watches the result bucket for the trial's key.
func (co *Coordinator) wait(ctx context.Context, id string) (*Result, error) {
	w, err := co.C.Results.Watch(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("watch result %s: %w", id, err)
	}
	defer w.Stop()
	stall := co.Stall
	if stall <= 0 {
		stall = time.Minute
	}
	tick := time.NewTicker(stall)
	defer tick.Stop()
	t0 := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-tick.C:
			co.log().Info("still waiting for a trial (are workers running? 'dash worker --nats URL')", "trial", id, "waited", time.Since(t0).Round(time.Second).String())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch result %s: closed (connection lost?)", id)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			return decodeResult(e.Value())
		}
	}
}

// Pending returns the number of trials waiting on the stream for this run.
func (co *Coordinator) Pending(ctx context.Context) (uint64, error) {
	info, err := co.C.Stream.Info(ctx, jetstream.WithSubjectFilter(subject(co.RunName)))
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// ResultKeys lists the stored results of this run (for tests and tools).
func (co *Coordinator) ResultKeys(ctx context.Context) ([]string, error) {
	lister, err := co.C.Results.ListKeysFiltered(ctx, co.RunName+".>")
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}
