// Package datasets provides the tasks dash searches on: built-in tasks with
// DASH's default search spaces (MNIST and permuted MNIST, Fashion-MNIST,
// generated Darcy flow), users' own .npy/.npz arrays, and a batch Loader with
// seeded shuffling and background prefetch.
//
// The package works on plain float32/int32 slices and does not depend on the
// tensor engine. Samples are stored channels-first: a 2-D sample of shape
// [C,H,W] is C·H·W consecutive values.
package datasets

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// TargetKind says what a task predicts.
type TargetKind int

const (
	// ClassIndex targets are one class index per sample (Data.Labels).
	ClassIndex TargetKind = iota
	// MultiLabel targets are a 0/1 vector of Classes per sample (Data.Y).
	MultiLabel
	// DenseField targets are a field per sample of shape YShape (Data.Y).
	DenseField
)

// String returns "class", "multilabel" or "dense".
func (k TargetKind) String() string {
	switch k {
	case ClassIndex:
		return "class"
	case MultiLabel:
		return "multilabel"
	case DenseField:
		return "dense"
	}
	return fmt.Sprintf("TargetKind(%d)", int(k))
}

// ParseTargetKind parses the names returned by TargetKind.String.
func ParseTargetKind(s string) (TargetKind, error) {
	switch strings.ToLower(s) {
	case "class", "classes", "classindex":
		return ClassIndex, nil
	case "multilabel", "multi-label":
		return MultiLabel, nil
	case "dense", "densefield":
		return DenseField, nil
	}
	return 0, fmt.Errorf("datasets: unknown target kind %q (want class, multilabel or dense)", s)
}

// Data is an in-memory split: N samples of shape XShape with their targets.
type Data struct {
	X      []float32 // N·prod(XShape), channels first per sample
	XShape []int     // per-sample shape, channels first, e.g. [1,784] or [3,85,85]
	Labels []int32   // ClassIndex targets (len N), else nil
	Y      []float32 // MultiLabel (N·Classes) or DenseField (N·prod(YShape)) targets, else nil
	YShape []int     // per-sample target shape for Y
	N      int
}

// SampleSize is prod(XShape).
func (d *Data) SampleSize() int { return prod(d.XShape) }

// TargetSize is prod(YShape) (0 when there are no Y targets).
func (d *Data) TargetSize() int {
	if d.Y == nil {
		return 0
	}
	return prod(d.YShape)
}

// Subset returns a new Data holding copies of the samples at idx, in order.
func (d *Data) Subset(idx []int) *Data {
	xs, ys := d.SampleSize(), d.TargetSize()
	out := &Data{XShape: slices.Clone(d.XShape), YShape: slices.Clone(d.YShape), N: len(idx)}
	out.X = make([]float32, len(idx)*xs)
	if d.Labels != nil {
		out.Labels = make([]int32, len(idx))
	}
	if d.Y != nil {
		out.Y = make([]float32, len(idx)*ys)
	}
	for k, i := range idx {
		copy(out.X[k*xs:(k+1)*xs], d.X[i*xs:(i+1)*xs])
		if d.Labels != nil {
			out.Labels[k] = d.Labels[i]
		}
		if d.Y != nil {
			copy(out.Y[k*ys:(k+1)*ys], d.Y[i*ys:(i+1)*ys])
		}
	}
	return out
}

// Validate checks that the slice lengths agree with N and the shapes.
func (d *Data) Validate() error {
	if d.N < 0 {
		return fmt.Errorf("datasets: negative sample count %d", d.N)
	}
	if len(d.X) != d.N*d.SampleSize() {
		return fmt.Errorf("datasets: X has %d values, want N·prod(%v) = %d", len(d.X), d.XShape, d.N*d.SampleSize())
	}
	if d.Labels != nil && len(d.Labels) != d.N {
		return fmt.Errorf("datasets: %d labels for %d samples", len(d.Labels), d.N)
	}
	if d.Y != nil && len(d.Y) != d.N*prod(d.YShape) {
		return fmt.Errorf("datasets: Y has %d values, want N·prod(%v) = %d", len(d.Y), d.YShape, d.N*prod(d.YShape))
	}
	return nil
}

// Split is a task's data: train, validation (carved from the training set)
// and test. Norm holds the normalisation statistics, computed on Train only;
// the data returned by Task.Load is already normalised with them unless
// LoadOptions.Raw is set, and Norm.DecodeY maps normalised dense outputs (and
// targets) back to physical units, e.g. for Darcy's relative L2 metric.
type Split struct {
	Train, Val, Test *Data
	Norm             *Normalizer
}

// LoadOptions controls Task.Load.
type LoadOptions struct {
	// Seed drives the validation carve and any task randomness (the MNIST
	// permutation is fixed by the task, not by this seed).
	Seed int64
	// ValFraction is the share of the training set held out for validation:
	// 0 means DefaultValFraction, a negative value means no validation set
	// (Val is then empty, N = 0).
	ValFraction float64
	// Limit caps the training pool (before the validation carve); 0 = all.
	// For generated tasks it caps how many samples are generated.
	Limit int
	// TestLimit caps the test set; 0 = all.
	TestLimit int
	// CacheDir for generated data; "" means $DASH_CACHE or
	// os.UserCacheDir()/dash.
	CacheDir string
	// Progress receives human-readable progress lines (may be nil).
	Progress io.Writer
	// Raw skips normalisation (Split.Norm is still computed).
	Raw bool
}

// DefaultValFraction is the validation share used when
// LoadOptions.ValFraction is 0.
const DefaultValFraction = 0.1

func (o LoadOptions) valFraction() float64 {
	switch {
	case o.ValFraction == 0:
		return DefaultValFraction
	case o.ValFraction < 0:
		return 0
	}
	return o.ValFraction
}

// Task is a built-in or user task with DASH's defaults.
type Task struct {
	Name, Description, Source string
	Dims                      int   // spatial dimensions: 1 or 2
	InShape                   []int // per-sample input shape, channels first, e.g. [1,784]
	Kind                      TargetKind
	Classes                   int   // classes (ClassIndex) or labels (MultiLabel); 0 for dense
	OutShape                  []int // dense output shape per sample (DenseField), e.g. [1,85,85]
	Loss, Metric              string
	// PosWeight weights the positive term of a multi-label BCE loss
	// (NAS-Bench-360: 4 for DeepSEA, 10 for FSD50K); 0 means 1.
	PosWeight float64
	// Family is the kind of problem for `dash data list`, e.g. "vision
	// 1-D", "genomics 1-D multi-label", "PDE 2-D dense".
	Family string
	// StandsFor names the NAS-Bench-360 (or DASH) task this one stands in
	// for, e.g. "DeepSEA (stand-in)"; "" when it is not a stand-in.
	StandsFor string
	// Licence of the data (or "generated" for data made by our code from
	// a recipe), e.g. "CC BY-SA 3.0", "MIT", "GPL-3".
	Licence             string
	Kernels, Dilations  []int // DASH default search space
	BatchSize           int
	Backbone            string // "resnet1d" | "wrn" | "wrn-dense"
	Synthetic           bool   // generated data (reported as such)
	TrainSize, TestSize int    // full sizes of the training pool and test set
	// Load reads (or generates) the data.
	Load func(ctx context.Context, o LoadOptions) (*Split, error)
	// Present reports whether the data is on this machine (or can be
	// generated) and where, or why not.
	Present func() (bool, string)
}

var (
	regMu    sync.RWMutex
	registry = map[string]*Task{}
)

// Register adds a task to the registry; it fails if the name is taken.
func Register(t *Task) error {
	regMu.Lock()
	defer regMu.Unlock()
	if t.Name == "" {
		return fmt.Errorf("datasets: task without a name")
	}
	if _, ok := registry[t.Name]; ok {
		return fmt.Errorf("datasets: task %q already registered", t.Name)
	}
	registry[t.Name] = t
	return nil
}

func mustRegister(t *Task) {
	if err := Register(t); err != nil {
		panic(err)
	}
}

// Lookup returns the named task, or an error listing the known names.
func Lookup(name string) (*Task, error) {
	regMu.RLock()
	t, ok := registry[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("datasets: unknown task %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return t, nil
}

// Names returns the registered task names, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tasks returns the registered tasks sorted by name.
func Tasks() []*Task {
	names := Names()
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]*Task, len(names))
	for i, n := range names {
		out[i] = registry[n]
	}
	return out
}

// WriteList writes a table of the registered tasks (for `dash data list`):
// name, family, the task it stands in for, input and target shapes, loss
// and metric, sizes, backbone, whether the data is present (or generated)
// and its licence; then, per task, its source and where the data is or why
// it is missing.
func WriteList(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tFAMILY\tSTANDS FOR\tINPUT\tTARGET\tLOSS\tMETRIC\tTRAIN/TEST\tBACKBONE\tDATA\tLICENCE")
	var where []string
	for _, t := range Tasks() {
		target := ""
		switch t.Kind {
		case ClassIndex:
			target = fmt.Sprintf("%d classes", t.Classes)
		case MultiLabel:
			target = fmt.Sprintf("%d labels", t.Classes)
		case DenseField:
			target = "dense " + shapeString(t.OutShape)
		}
		data, msg := DataStatus(t)
		loss := t.Loss
		if t.PosWeight != 0 && t.PosWeight != 1 {
			loss += fmt.Sprintf(" (pos_weight %g)", t.PosWeight)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", t.Name, dashIfEmpty(t.Family), dashIfEmpty(t.StandsFor),
			shapeString(t.InShape), target, loss, t.Metric, t.TrainSize, t.TestSize, t.Backbone, data, dashIfEmpty(t.Licence))
		line := fmt.Sprintf("  %s: source: %s", t.Name, dashIfEmpty(t.Source))
		if msg != "" {
			line += "; " + msg
		}
		where = append(where, line)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("datasets: formatting task list: %w", err)
	}
	if len(where) > 0 {
		b.WriteString("\nsource, and where the data is (or why it is missing):\n")
		b.WriteString(strings.Join(where, "\n"))
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("datasets: writing task list: %w", err)
	}
	return nil
}

// DataStatus says whether a task's data is on this machine: "present" or
// "MISSING" for data read from files, "generated" for data our code makes
// (on first use, then cached), with Present's message (where the data is,
// or why it is missing and which package provides it).
func DataStatus(t *Task) (status, msg string) {
	ok, msg := true, ""
	if t.Present != nil {
		ok, msg = t.Present()
	}
	switch {
	case t.Synthetic:
		return "generated", msg
	case ok:
		return "present", msg
	}
	return "MISSING", msg
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// carve splits n training-pool indices into train and validation indices,
// reproducibly from seed: a seeded permutation, the last round(n·frac) go to
// validation. Both lists are returned sorted so that data keeps its order.
func carve(n int, frac float64, seed int64) (train, val []int) {
	nv := int(float64(n)*frac + 0.5)
	if frac > 0 && nv == 0 && n > 1 {
		nv = 1
	}
	if nv >= n {
		nv = n - 1
	}
	if nv < 0 {
		nv = 0
	}
	perm := rand.New(rand.NewPCG(uint64(seed), 0x7a1d5eed)).Perm(n)
	val = slices.Clone(perm[n-nv:])
	train = slices.Clone(perm[:n-nv])
	slices.Sort(val)
	slices.Sort(train)
	return train, val
}

// splitTrain applies Limit and the validation carve to a training pool.
func splitTrain(pool *Data, o LoadOptions) (train, val *Data) {
	n := pool.N
	if o.Limit > 0 && o.Limit < n {
		n = o.Limit
	}
	tr, va := carve(n, o.valFraction(), o.Seed)
	if n == pool.N && len(va) == 0 {
		return pool, pool.Subset(nil)
	}
	return pool.Subset(tr), pool.Subset(va)
}

func limitTest(test *Data, o LoadOptions) *Data {
	if o.TestLimit > 0 && o.TestLimit < test.N {
		idx := make([]int, o.TestLimit)
		for i := range idx {
			idx[i] = i
		}
		return test.Subset(idx)
	}
	return test
}
