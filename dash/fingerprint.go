package dash

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"weak"

	"github.com/dash-go/dash/datasets"
)

// FingerprintFile is the run directory's record of what the run was made
// from; every reuse of the directory (--resume, hpo, retrain, eval) is
// checked against it.
const FingerprintFile = "fingerprint.json"

// Fingerprint ties a run directory to its data, task, budget, backbone,
// search space and seed.
type Fingerprint struct {
	Version  int    `json:"version"`
	Task     string `json:"task"`
	Kind     string `json:"kind"`
	InShape  []int  `json:"in_shape"`
	OutShape []int  `json:"out_shape,omitempty"`
	Classes  int    `json:"classes"`
	Backbone string `json:"backbone"`
	// Data is the SHA-256 of the training, validation and test splits as
	// the run sees them (shapes, inputs, targets), with their sizes.
	Data      string `json:"data_sha256"`
	Train     int    `json:"n_train"`
	Val       int    `json:"n_val"`
	Test      int    `json:"n_test"`
	Budget    Budget `json:"budget"`
	Kernels   []int  `json:"kernels"`
	Dilations []int  `json:"dilations"`
	Seed      uint64 `json:"seed"`
	// Loss, Metric and PosWeight are the objective (--loss, --metric,
	// --pos-weight or the task's defaults); recorded since version 2.
	Loss      string  `json:"loss,omitempty"`
	Metric    string  `json:"metric,omitempty"`
	PosWeight float64 `json:"pos_weight,omitempty"`
}

// fingerprintVersion 2 added the objective (loss, metric, pos_weight);
// version-1 files, which lack it, are not compared on it. Version 3 added
// the budget's hpo_schedule; older files, whose trials ran at a constant
// rate, are compared as "constant".
const fingerprintVersion = 3

// dataHashes caches split digests: hashing tens of MB at every stage entry
// would cost time for nothing. Keys are weak so that the cache never keeps
// a split's data alive.
var dataHashes sync.Map // weak.Pointer[datasets.Split] → string

func hashSplit(sp *datasets.Split) string {
	key := weak.Make(sp)
	if h, ok := dataHashes.Load(key); ok {
		return h.(string)
	}
	h := sha256.New()
	for _, d := range []*datasets.Data{sp.Train, sp.Val, sp.Test} {
		hashData(h, d)
	}
	s := hex.EncodeToString(h.Sum(nil))
	dataHashes.Store(key, s)
	return s
}

func hashData(h hash.Hash, d *datasets.Data) {
	var b [8]byte
	put := func(v int) {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	if d == nil {
		put(-1)
		return
	}
	put(d.N)
	for _, s := range [][]int{d.XShape, d.YShape} {
		put(len(s))
		for _, v := range s {
			put(v)
		}
	}
	buf := make([]byte, 0, 1<<16)
	floats := func(v []float32) {
		put(len(v))
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		buf = buf[:0]
	}
	floats(d.X)
	floats(d.Y)
	put(len(d.Labels))
	for _, l := range d.Labels {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(l))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
}

// NewFingerprint computes the fingerprint of a configuration (after its
// defaults are filled in).
func NewFingerprint(c *Config) *Fingerprint {
	t := c.Task
	return &Fingerprint{Version: fingerprintVersion, Task: t.Name, Kind: t.Kind.String(), InShape: slices.Clone(t.InShape),
		OutShape: slices.Clone(t.OutShape), Classes: t.Classes, Backbone: t.Backbone,
		Data: hashSplit(c.Split), Train: c.Split.Train.N, Val: c.Split.Val.N, Test: testN(c),
		Budget: c.Budget, Kernels: slices.Clone(c.Kernels), Dilations: slices.Clone(c.Dilations), Seed: c.Seed,
		Loss: t.Loss, Metric: t.Metric, PosWeight: t.PosWeight}
}

// ErrRunMismatch is wrapped by errors for a run directory reused with other
// data, task, budget, backbone, search space or seed than it was made with.
var ErrRunMismatch = errors.New("the run directory was made with different settings")

// Compare lists how other (this command's settings) differs from f (the
// run directory's), as "what: run has X, this command has Y" items.
func (f *Fingerprint) Compare(other *Fingerprint) []string {
	var d []string
	add := func(what string, run, now any) {
		d = append(d, fmt.Sprintf("%s: the run has %v, this command has %v", what, run, now))
	}
	if f.Seed != other.Seed {
		add("--seed", f.Seed, other.Seed)
	}
	if f.Task != other.Task {
		add("task (--task/--data)", f.Task, other.Task)
	}
	if f.Kind != other.Kind || !slices.Equal(f.InShape, other.InShape) || !slices.Equal(f.OutShape, other.OutShape) || f.Classes != other.Classes {
		add("data shape", fmt.Sprintf("%s input %v, %d classes", f.Kind, f.InShape, f.Classes), fmt.Sprintf("%s input %v, %d classes", other.Kind, other.InShape, other.Classes))
	}
	if f.Backbone != other.Backbone {
		add("backbone", f.Backbone, other.Backbone)
	}
	if f.Data != other.Data {
		add("data (SHA-256 of the train/validation/test splits)", fmt.Sprintf("%.12s… (%d/%d/%d samples)", f.Data, f.Train, f.Val, f.Test),
			fmt.Sprintf("%.12s… (%d/%d/%d samples)", other.Data, other.Train, other.Val, other.Test))
	}
	fb := f.Budget
	if f.Version < 3 && fb.HPOSchedule == "" {
		fb.HPOSchedule = HPOScheduleConstant // made before the trials followed the schedule
	}
	if fb.Name != other.Budget.Name {
		add("--budget", fb.Name, other.Budget.Name)
	} else if !reflect.DeepEqual(fb, other.Budget) {
		for _, k := range budgetDiff(fb, other.Budget) {
			add("budget setting "+k[0], k[1], k[2])
		}
	}
	if !slices.Equal(f.Kernels, other.Kernels) {
		add("--kernels", intsStr(f.Kernels), intsStr(other.Kernels))
	}
	if !slices.Equal(f.Dilations, other.Dilations) {
		add("--dilations", intsStr(f.Dilations), intsStr(other.Dilations))
	}
	if f.Version >= 2 {
		if f.Loss != other.Loss {
			add("--loss", f.Loss, other.Loss)
		}
		if f.Metric != other.Metric {
			add("--metric", f.Metric, other.Metric)
		}
		if f.PosWeight != other.PosWeight {
			add("--pos-weight", f.PosWeight, other.PosWeight)
		}
	}
	return d
}

// budgetDiff lists the budget fields (JSON names) that differ, with both
// values.
func budgetDiff(a, b Budget) [][3]string {
	m := func(x Budget) map[string]json.RawMessage {
		raw, _ := json.Marshal(x)
		var out map[string]json.RawMessage
		json.Unmarshal(raw, &out)
		return out
	}
	ma, mb := m(a), m(b)
	var keys []string
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var d [][3]string
	for _, k := range keys {
		if !bytes.Equal(ma[k], mb[k]) {
			show := func(r json.RawMessage) string {
				if len(r) == 0 {
					return "(unset)"
				}
				return string(r)
			}
			d = append(d, [3]string{k, show(ma[k]), show(mb[k])})
		}
	}
	if len(d) == 0 { // equal in JSON, different in memory (nil vs empty)
		d = append(d, [3]string{"(all)", fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b)})
	}
	return d
}

func intsStr(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// ReadFingerprint reads a run directory's fingerprint (os.ErrNotExist when
// it has none).
func ReadFingerprint(dir string) (*Fingerprint, error) {
	var f Fingerprint
	b, err := os.ReadFile(dir + string(os.PathSeparator) + FingerprintFile)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(b, FingerprintFile, &f); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return &f, nil
}

// checkFingerprint ties the run directory to the configuration: with
// Resume the directory's fingerprint (if any) must match, otherwise it is
// (re)written; a directory without one gets one.
func (c *Config) checkFingerprint() error {
	now := NewFingerprint(c)
	if c.Resume {
		f, err := ReadFingerprint(c.OutDir)
		switch {
		case err == nil:
			if d := f.Compare(now); len(d) > 0 {
				return fmt.Errorf("%w: %s: %s; use the run's own settings, or a new --out for a new run", ErrRunMismatch, c.OutDir, strings.Join(d, "; "))
			}
			return nil
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	return WriteJSON(c.path(FingerprintFile), now)
}
