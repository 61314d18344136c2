package onnx_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/tinyrun"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/onnx"
	"github.com/dash-go/dash/onnx/onnxpb"
	"github.com/dash-go/dash/tensor/cpu"
)

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func ints(a *onnxpb.AttributeProto) []int {
	if a == nil {
		return nil
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

// TestExportGraph exports tiny runs of every backbone and checks the graph
// against the rebuilt network: opset and IR version, the input and output
// signature, one Conv per convolution with the searched kernel size,
// dilation and padding (causal: all of d·(k−1) before), batch norms kept
// or folded, the input normalisation as nodes.
func TestExportGraph(t *testing.T) {
	cases := []struct {
		name string
		o    tinyrun.Options
		fold bool
		outs []string
	}{
		{"resnet1d", tinyrun.Options{Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{2, 24}, N: 40, Seed: 1}, false, []string{"probabilities", "logits"}},
		{"resnet1d-folded", tinyrun.Options{Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{2, 24}, N: 40, Seed: 1}, true, []string{"probabilities", "logits"}},
		{"causal-multilabel", tinyrun.Options{Backbone: "resnet1d-causal", Kind: datasets.MultiLabel, InShape: []int{1, 24}, N: 40, Seed: 2}, false, []string{"scores", "logits"}},
		{"retrain-causal", tinyrun.Options{Backbone: "resnet1d", RetrainBackbone: "resnet1d-causal", Kind: datasets.ClassIndex, InShape: []int{1, 24}, N: 40, Seed: 5}, false, []string{"probabilities", "logits"}},
		{"tcn", tinyrun.Options{Backbone: "tcn", Kind: datasets.ClassIndex, InShape: []int{1, 24}, N: 40, Seed: 3}, false, []string{"probabilities", "logits"}},
		{"wrn", tinyrun.Options{Backbone: "wrn", Kind: datasets.ClassIndex, InShape: []int{1, 8, 8}, N: 40, Seed: 4}, false, []string{"probabilities", "logits"}},
	}
	be := cpu.New()
	defer be.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if _, err := tinyrun.Make(context.Background(), dir, be, c.o); err != nil {
				t.Fatal(err)
			}
			m, err := dash.Load(dir, be)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			b, err := onnx.Marshal(m, onnx.Options{FoldBatchNorm: c.fold})
			if err != nil {
				t.Fatal(err)
			}
			var pm onnxpb.ModelProto
			if err := proto.Unmarshal(b, &pm); err != nil {
				t.Fatalf("the exported bytes do not decode: %v", err)
			}
			if pm.GetIrVersion() != onnx.IRVersion || len(pm.OpsetImport) != 1 || pm.OpsetImport[0].GetVersion() < 17 {
				t.Errorf("IR %d, opsets %v", pm.GetIrVersion(), pm.OpsetImport)
			}
			g := pm.Graph
			var outs []string
			for _, o := range g.Output {
				outs = append(outs, o.GetName())
			}
			if !slices.Equal(outs, c.outs) {
				t.Errorf("outputs %v, want %v", outs, c.outs)
			}
			in := g.Input[0].Type.GetTensorType().Shape.Dim
			if len(in) != len(c.o.InShape)+1 || in[0].GetDimParam() != "N" || int(in[1].GetDimValue()) != c.o.InShape[0] {
				t.Errorf("input dims %v", in)
			}
			ops := map[string]int{}
			conv := map[string]*onnxpb.NodeProto{}
			for _, n := range g.Node {
				ops[n.GetOpType()]++
				if n.GetOpType() == "Conv" {
					conv[n.GetOutput()[0]] = n
				}
			}
			if ops["Sub"] == 0 || ops["Div"] == 0 {
				t.Errorf("no input normalisation nodes: %v", ops)
			}
			st, _, err := nn.ModelState(m.Backbone())
			if err != nil {
				t.Fatal(err)
			}
			nconv, nbn, unfoldable := 0, 0, 0
			for name, ts := range st {
				if strings.HasSuffix(name, ".running_var") {
					nbn++
				}
				if p, ok := strings.CutSuffix(name, ".shortcut.bn.running_var"); ok && st[p+".shortcut.conv.weight"] == nil {
					unfoldable++ // the identity shortcut's BN follows no conv
				}
				if strings.HasSuffix(name, ".weight") && len(ts.Shape) >= 3 {
					nconv++
				}
			}
			if ops["Conv"] != nconv {
				t.Errorf("%d Conv nodes, the network has %d convolutions", ops["Conv"], nconv)
			}
			switch {
			case !c.fold && ops["BatchNormalization"] != nbn:
				t.Errorf("%d BatchNormalization nodes, the network has %d batch norms", ops["BatchNormalization"], nbn)
			case c.fold && ops["BatchNormalization"] != unfoldable:
				t.Errorf("folded: %d BatchNormalization nodes left, want %d (of %d)", ops["BatchNormalization"], unfoldable, nbn)
			}
			causal := strings.HasSuffix(m.Spec.Backbone, "-causal") || c.o.RetrainBackbone == "resnet1d-causal" || c.o.Backbone == "tcn"
			dilated := 0
			for _, l := range m.Arch.Layers {
				n, ok := conv[l.Name]
				if !ok {
					t.Fatalf("no Conv node for searched layer %s", l.Name)
				}
				dims := len(c.o.InShape) - 1
				rep := func(v int) []int { return slices.Repeat([]int{v}, dims) }
				if got := ints(attr(n, "kernel_shape")); !slices.Equal(got, rep(l.Kernel)) {
					t.Errorf("%s: kernel_shape %v, searched k = %d", l.Name, got, l.Kernel)
				}
				if got := ints(attr(n, "dilations")); !slices.Equal(got, rep(l.Dilation)) {
					t.Errorf("%s: dilations %v, searched d = %d", l.Name, got, l.Dilation)
				}
				tot := l.Dilation * (l.Kernel - 1)
				want := append(rep(tot/2), rep(tot-tot/2)...)
				if causal {
					want = []int{tot, 0}
				}
				if got := ints(attr(n, "pads")); !slices.Equal(got, want) {
					t.Errorf("%s (k %d, d %d, causal %v): pads %v, want %v", l.Name, l.Kernel, l.Dilation, causal, got, want)
				}
				if l.Dilation > 1 {
					dilated++
				}
			}
			t.Logf("%s: %d nodes %v, %d searched layers (%d dilated), %d bytes", c.name, len(g.Node), ops, len(m.Arch.Layers), dilated, len(b))
		})
	}
}

// TestExportUnknownLayout: a backbone the exporter does not know is an
// error, not a partial graph.
func TestExportUnknownLayout(t *testing.T) {
	be := cpu.New()
	defer be.Close()
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := tinyrun.Make(context.Background(), dir, be, tinyrun.Options{Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{1, 16}, N: 32, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	m, err := dash.Load(dir, be)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Spec.Backbone = "transformer"
	if _, err := onnx.Export(m, onnx.Options{}); err == nil || !strings.Contains(err.Error(), `backbone "transformer" is not supported`) {
		t.Errorf("error %v", err)
	}
	m.Spec.Backbone = "tcn" // the ResNet1D's tensors under the TCN's walk
	if _, err := onnx.Export(m, onnx.Options{}); err == nil || !strings.Contains(err.Error(), "tcn") {
		t.Errorf("error %v", err)
	}
}
