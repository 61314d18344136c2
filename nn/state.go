package nn

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/tensor"
)

// Stateful is extra state saved next to a model in a checkpoint (an
// optimiser: optim.Optimizer implements it). Its tensor names start with the
// given prefix.
type Stateful interface {
	StateDict(prefix string) (map[string]*checkpoint.Tensor, map[string]string)
	LoadStateDict(prefix string, ts map[string]*checkpoint.Tensor, meta map[string]string) error
}

// ExtraPrefix starts the names of non-model tensors in a checkpoint
// (optimiser state); model loading ignores them.
const ExtraPrefix = "@"

// counterKey is the metadata key of a layer counter.
func counterKey(name string) string { return "counter:" + name }

// ModelState copies the model's parameters and buffers to host tensors
// named by their Var names, and its counters into metadata.
func ModelState(model Layer) (map[string]*checkpoint.Tensor, map[string]string, error) {
	ts := map[string]*checkpoint.Tensor{}
	for i, v := range StateVars(model) {
		if v.Name == "" {
			return nil, nil, fmt.Errorf("nn: state tensor %d (shape %v) has no name", i, v.Value.Shape())
		}
		if _, dup := ts[v.Name]; dup {
			return nil, nil, fmt.Errorf("nn: two state tensors are named %q", v.Name)
		}
		ts[v.Name] = checkpoint.F32(v.Value.Float32s(), v.Value.Shape()...)
	}
	meta := map[string]string{}
	for k, c := range Counters(model) {
		meta[counterKey(k)] = strconv.FormatUint(*c, 10)
	}
	return ts, meta, nil
}

// LoadModelState restores parameters, buffers and counters from f,
// validating that every model tensor is present with the model's shape and
// that f holds no model tensor the model lacks (names starting with
// ExtraPrefix are ignored).
func LoadModelState(model Layer, f *checkpoint.File) error {
	used := map[string]bool{}
	var problems []string
	for _, v := range StateVars(model) {
		t, ok := f.Tensors[v.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %q %v", v.Name, v.Value.Shape()))
			continue
		}
		used[v.Name] = true
		if t.DType != "F32" || !tensor.SameShape(t.Shape, v.Value.Shape()) {
			problems = append(problems, fmt.Sprintf("%q is %s %v in the checkpoint, the model wants F32 %v", v.Name, t.DType, t.Shape, v.Value.Shape()))
		}
	}
	var extra []string
	for n := range f.Tensors {
		if !used[n] && !strings.HasPrefix(n, ExtraPrefix) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		problems = append(problems, fmt.Sprintf("unexpected %q %v (not in the model)", n, f.Tensors[n].Shape))
	}
	if len(problems) > 0 {
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("... and %d more", len(problems)-8))
		}
		return fmt.Errorf("nn: checkpoint does not match the model: %s", strings.Join(problems, "; "))
	}
	counters := Counters(model)
	for k, c := range counters {
		s, ok := f.Metadata[counterKey(k)]
		if !ok {
			return fmt.Errorf("nn: checkpoint lacks counter %q", k)
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("nn: checkpoint counter %q = %q: %w", k, s, err)
		}
		*c = n
	}
	for _, v := range StateVars(model) {
		t := f.Tensors[v.Name]
		src := tensor.FromFloat32(v.Value.Backend(), t.F32, t.Shape...)
		v.Value.CopyFrom(src)
		src.Release()
	}
	return nil
}

// SaveCheckpoint writes the model's state, the extra state (may be nil;
// stored under ExtraPrefix+"optim.") and the metadata to path atomically in
// the safetensors layout (zstd-compressed when path ends in ".zst").
func SaveCheckpoint(path string, model Layer, extra Stateful, meta map[string]string) error {
	f := checkpoint.New()
	ts, m, err := ModelState(model)
	if err != nil {
		return err
	}
	f.Tensors = ts
	for k, v := range m {
		f.Metadata[k] = v
	}
	if extra != nil {
		ets, em := extra.StateDict(ExtraPrefix + "optim.")
		for k, v := range ets {
			f.Tensors[k] = v
		}
		for k, v := range em {
			f.Metadata[k] = v
		}
	}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	if err := checkpoint.Write(path, f, checkpoint.Options{Zstd: strings.HasSuffix(path, ".zst")}); err != nil {
		return fmt.Errorf("nn: saving checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint restores a model (and the extra state, when not nil) from
// a checkpoint written by SaveCheckpoint and returns its metadata. The
// file's checksum must be present and match (checkpoint.ErrChecksum
// otherwise): a corrupt file is refused, never loaded. Files from other
// tools, without a checksum, load through checkpoint.Read and
// LoadModelState.
func LoadCheckpoint(path string, model Layer, extra Stateful) (map[string]string, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, fmt.Errorf("nn: loading checkpoint: %w", err)
	}
	if !f.Checksummed {
		return nil, fmt.Errorf("nn: loading checkpoint %s: %w: it has no %s entry (not written by SaveCheckpoint, or damaged)", path, checkpoint.ErrChecksum, checkpoint.ChecksumKey)
	}
	if err := LoadModelState(model, f); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	if extra != nil {
		if err := extra.LoadStateDict(ExtraPrefix+"optim.", f.Tensors, f.Metadata); err != nil {
			return nil, fmt.Errorf("nn: loading checkpoint %s: %w", path, err)
		}
	}
	return f.Metadata, nil
}
