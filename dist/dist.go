// Package dist spreads a DASH run over many machines through NATS
// JetStream. Each trial of a run (the search, every configuration of every
// network's hyperparameter grid, the proxy trainings, the retrainings, for
// every seed) is a message on a work-queue stream with a deterministic ID;
// workers (Worker) pull trials, train them and store the results in a
// key-value bucket, and the coordinator (Coordinator, a dash.Executor)
// publishes a stage's trials, waits for their results and builds the run
// directory from them exactly as a local run would.
//
// Resources on the server (created on first use by either side):
//
//	stream DASH_TRIALS        subjects dash.trials.<run>, work-queue retention, 1 h duplicate window
//	consumer dash-workers     durable pull consumer shared by all workers
//	KV dash-results           key <trial ID>: the trial's result (gob)
//	object store dash-trials  <trial ID>/ckpt/<file>: per-epoch checkpoints; <trial ID>/files/<file>: weights
//	object store dash-data    sha256-<hex>/<name>: users' data files
package dist

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the server-side resources.
const (
	StreamName   = "DASH_TRIALS"
	SubjectBase  = "dash.trials"
	ConsumerName = "dash-workers"
	ResultBucket = "dash-results"
	TrialStore   = "dash-trials"
	DataStore    = "dash-data"
	// VersionHeader carries the coordinator's Version on every trial.
	VersionHeader = "Dash-Version"
)

// protocol is bumped whenever a trial's meaning or the result format
// changes.
const protocol = "1"

// Version identifies what a worker must be built from to take a trial: the
// protocol and the VCS revision of the binary (with "+dirty" for modified
// trees). Workers of another version refuse trials.
var Version = buildVersion()

func buildVersion() string {
	v := "dash-dist/" + protocol
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + dirty
	}
	return v
}

// Options connect to a NATS server. Credentials and TLS are nats.go's.
type Options struct {
	URL string // e.g. nats://host:4222 (comma-separated for a cluster)
	// Creds is a NATS credentials file (JWT + NKey seed), nats.UserCredentials.
	Creds string
	// NKey is an NKey seed file, nats.NkeyOptionFromSeed.
	NKey string
	// TLSCert and TLSKey are a client certificate (nats.ClientCert);
	// TLSCA a CA bundle to verify the server with (nats.RootCAs).
	TLSCert, TLSKey, TLSCA string
	// Name names the connection in the server's monitoring.
	Name string
	// AckWait is how long a trial may go without an in-progress ack before
	// it is redelivered to another worker (default 30 s). Workers ack every
	// AckWait/3 while training.
	AckWait time.Duration
	// ConnectTimeout bounds the first connection (default 5 s).
	ConnectTimeout time.Duration
}

func (o *Options) ackWait() time.Duration {
	if o.AckWait > 0 {
		return o.AckWait
	}
	return 30 * time.Second
}

// Conn is a connection with the run's JetStream resources.
type Conn struct {
	NC      *nats.Conn
	JS      jetstream.JetStream
	Stream  jetstream.Stream
	Results jetstream.KeyValue
	Trials  jetstream.ObjectStore
	Data    jetstream.ObjectStore
	opts    Options
}

// ErrUnreachable is wrapped by Connect's error when no server answers.
var ErrUnreachable = errors.New("NATS server unreachable")

// Connect connects to the server and creates (or opens) the stream, the
// workers' consumer, the result bucket and the object stores.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if o.URL == "" {
		return nil, errors.New("dist: no NATS URL (--nats nats://host:4222)")
	}
	nopts := []nats.Option{nats.Name(o.Name), nats.Timeout(cmp(o.ConnectTimeout, 5*time.Second)),
		nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if o.Creds != "" {
		if _, err := os.Stat(o.Creds); err != nil {
			return nil, fmt.Errorf("--nats-creds: %w", err)
		}
		nopts = append(nopts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey %s: %w", o.NKey, err)
		}
		nopts = append(nopts, opt)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	if o.TLSCert != "" {
		nopts = append(nopts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLSCA != "" {
		nopts = append(nopts, nats.RootCAs(o.TLSCA))
	}
	nc, err := nats.Connect(o.URL, nopts...)
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) {
			return nil, fmt.Errorf("%w at %s: %v (is nats-server running with JetStream, -js, and reachable from here?)", ErrUnreachable, o.URL, err)
		}
		return nil, fmt.Errorf("connect to NATS at %s: %w", o.URL, err)
	}
	c, err := open(ctx, nc, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func cmp(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func open(ctx context.Context, nc *nats.Conn, o Options) (*Conn, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &Conn{NC: nc, JS: js, opts: o}
	c.Stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: StreamName, Subjects: []string{SubjectBase + ".>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: time.Hour,
	})
	if err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("NATS server at %s: JetStream is not enabled (start nats-server with -js)", o.URL)
		}
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	_, err = js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable: ConsumerName, AckPolicy: jetstream.AckExplicitPolicy, AckWait: o.ackWait(),
		MaxDeliver: -1, MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", ConsumerName, err)
	}
	if c.Results, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ResultBucket, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("create key-value bucket %s: %w", ResultBucket, err)
	}
	if c.Trials, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: TrialStore, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("create object store %s: %w", TrialStore, err)
	}
	if c.Data, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: DataStore, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("create object store %s: %w", DataStore, err)
	}
	return c, nil
}

// Close drains and closes the connection.
func (c *Conn) Close() {
	if c != nil && c.NC != nil {
		_ = c.NC.Drain()
		c.NC.Close()
	}
}

// DataSpec says how a worker gets a run's data: a built-in task, loaded
// where the worker runs, or a user's file from the dash-data object store.
type DataSpec struct {
	Task     string `json:"task,omitempty"`     // built-in task
	Backbone string `json:"backbone,omitempty"` // --backbone override
	Seed     uint64 `json:"seed"`               // the split's seed (the run's --seed)
	Budget   string `json:"budget"`             // the budget name (synthetic tasks generate what it trains on)
	// TrainLimit is the run's --train-limit (0: the budget's), for the
	// same reason.
	TrainLimit int `json:"train_limit,omitempty"`
	// File is the user's file's object name in DataStore, FileSHA256 its
	// digest (verified by the worker), Target and Classes the --target
	// and --classes flags.
	File       string `json:"file,omitempty"`
	FileSHA256 string `json:"file_sha256,omitempty"`
	Target     string `json:"target,omitempty"`
	Classes    int    `json:"classes,omitempty"`
}

func (d DataSpec) key() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// Job is a trial message.
type Job struct {
	Version string      `json:"version"`
	Run     string      `json:"run"`
	ID      string      `json:"id"`
	Data    DataSpec    `json:"data"`
	Trial   *dash.Trial `json:"trial"`
}

// Result is a trial's record in the result bucket.
type Result struct {
	ID      string
	Result  *dash.TrialResult
	Err     string // a failure that would repeat anywhere (bad input)
	Worker  string
	Device  string // backend and CPU threads: results are bit-identical only across equal ones
	Version string
	Seconds float64 // training time on the worker
	Attempt uint64  // delivery count of the message that produced it
}

func encodeResult(r *Result) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(r); err != nil {
		return nil, fmt.Errorf("encode result %s: %w", r.ID, err)
	}
	return b.Bytes(), nil
}

func decodeResult(b []byte) (*Result, error) {
	var r Result
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode trial result: %w", err)
	}
	return &r, nil
}

var unsafeChars = regexp.MustCompile(`[^-_a-zA-Z0-9]+`)

// RunID turns a run directory into the run's name in trial IDs: its base
// name and a hash of its absolute path.
func RunID(outDir string) string {
	abs, err := filepath.Abs(outDir)
	if err != nil {
		abs = outDir
	}
	h := sha256.Sum256([]byte(abs))
	base := unsafeChars.ReplaceAllString(filepath.Base(abs), "_")
	return strings.Trim(base, "_") + "-" + hex.EncodeToString(h[:4])
}

// TrialID is the deterministic ID of a trial of a run: run, stage,
// network, seed and a hash of everything else the trial is made of
// (configuration, architecture, budget, data, Version). The same trial published
// twice has the same ID, so it is trained and counted once.
func TrialID(run string, t *dash.Trial) string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("dist: trial not serialisable: %v", err)) // a programming error: Trial is plain data
	}
	// the version too: another build's results are not this one's
	h := sha256.Sum256(append([]byte(Version+"\n"), b...))
	net := t.Network
	if net == "" {
		net = "all"
	}
	return fmt.Sprintf("%s.%s.%s.s%d.%s", run, t.Stage, unsafeChars.ReplaceAllString(net, "_"), t.Seed, hex.EncodeToString(h[:6]))
}

func subject(run string) string { return SubjectBase + "." + run }

func ckptObject(id, name string) string { return id + "/ckpt/" + name }
func fileObject(id, name string) string { return id + "/files/" + name }
