package nn

import (
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// wrnParams counts a pre-activation WRN-depth-k by formula.
func wrnParams(depth, k, in, out int, dense bool) int {
	n := (depth - 4) / 6
	conv := func(ci, co, ks int) int { return ci * co * ks * ks }
	bn := func(c int) int { return 2 * c }
	total := conv(in, 16, 3)
	ch := 16
	for _, w := range []int{16 * k, 32 * k, 64 * k} {
		for b := range n {
			total += bn(ch) + conv(ch, w, 3) + bn(w) + conv(w, w, 3)
			if b == 0 && ch != w || b == 0 && w != 16*k && !dense {
				total += conv(ch, w, 1)
			}
			ch = w
		}
	}
	return total + bn(ch) + ch*out + out
}

func resnet1dParams(in, m, out int) int {
	total := 0
	ch := in
	for _, w := range []int{m, 2 * m, 2 * m} {
		c := ch
		for _, k := range []int{8, 5, 3} {
			total += c*w*k + w + 2*w
			c = w
		}
		if ch != w {
			total += ch*w + w
		}
		total += 2 * w
		ch = w
	}
	return total + ch*out + out
}

func tcnParams(in, levels, ch, k, out int) int {
	total := 0
	c := in
	for range levels {
		total += c*ch*k + ch + ch*ch*k + ch
		if c != ch {
			total += c*ch + ch
		}
		c = ch
	}
	return total + c*out + out
}

func forwardShape(t *testing.T, l Layer, shape ...int) []int {
	t.Helper()
	be := cpu.Default()
	x := autograd.Const(tensor.RandNormal(be, 1, 0, 1, shape...))
	y := l.Forward(x)
	defer autograd.Release(y)
	return y.Value.Shape()
}

func eq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWRN(t *testing.T) {
	be := cpu.Default()
	for _, tc := range []struct {
		k, in, out int
		dense      bool
		h          int
		want       int
	}{
		{4, 3, 10, false, 32, 2748890}, // the literature's 2.7M
		{1, 3, 100, false, 32, 0},
		{4, 3, 100, false, 32, 0},
		{1, 3, 1, true, 12, 0},
	} {
		net, err := NewWRN(WRNConfig{Widen: tc.k, InChannels: tc.in, Height: tc.h, Width: tc.h, Outputs: tc.out, Dense: tc.dense, Backend: be, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := wrnParams(16, tc.k, tc.in, tc.out, tc.dense)
		if tc.want != 0 && want != tc.want {
			t.Fatalf("formula gives %d, literature %d", want, tc.want)
		}
		if got := NumParams(net); got != want {
			t.Errorf("WRN-16-%d dense=%v: %d params, want %d", tc.k, tc.dense, got, want)
		}
		if got := len(net.SearchableConvs()); got != 13 {
			t.Errorf("WRN: %d searchable convs, want 13", got)
		}
		if tc.k == 4 && !tc.dense {
			continue // the big forward is covered by the benchmark
		}
		got := forwardShape(t, net, 2, tc.in, tc.h, tc.h)
		wantShape := []int{2, tc.out}
		if tc.dense {
			wantShape = []int{2, tc.out, tc.h, tc.h}
		}
		if !eq(got, wantShape) {
			t.Errorf("WRN output %v, want %v", got, wantShape)
		}
	}
}

func TestResNet1D(t *testing.T) {
	be := cpu.Default()
	for _, tc := range []struct {
		in, classes, m int
		causal         bool
	}{{1, 4, 4, false}, {4, 36, 64, true}, {1, 10, 16, true}} {
		net, err := NewResNet1D(ResNet1DConfig{InChannels: tc.in, Length: 100, Outputs: tc.classes, Causal: tc.causal, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := NumParams(net), resnet1dParams(tc.in, tc.m, tc.classes); got != want {
			t.Errorf("resnet1d %d classes: %d params, want %d", tc.classes, got, want)
		}
		specs := net.SearchableConvs()
		if len(specs) != 9 {
			t.Errorf("%d searchable convs, want 9", len(specs))
		}
		if specs[0].Causal != tc.causal || specs[0].Kernel != 8 || specs[1].Kernel != 5 || specs[2].Kernel != 3 {
			t.Errorf("specs %+v", specs[:3])
		}
		if got := forwardShape(t, net, 3, tc.in, 100); !eq(got, []int{3, tc.classes}) {
			t.Errorf("output %v", got)
		}
	}
}

func TestTCN(t *testing.T) {
	be := cpu.Default()
	net, err := NewTCN(TCNConfig{InChannels: 1, Outputs: 10, Levels: 4, Channels: 8, Kernel: 3, DropRate: 0.1, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := NumParams(net), tcnParams(1, 4, 8, 3, 10); got != want {
		t.Errorf("tcn: %d params, want %d", got, want)
	}
	if got := len(net.SearchableConvs()); got != 8 {
		t.Errorf("%d searchable convs, want 8", got)
	}
	if got := forwardShape(t, net, 2, 1, 50); !eq(got, []int{2, 10}) {
		t.Errorf("output %v", got)
	}
}

// TestCausal checks that a causal ResNet1D's output at time t ignores later inputs.
func TestCausalConv(t *testing.T) {
	be := cpu.Default()
	c, err := NewConv(ConvSpec{Name: "c", Dims: 1, In: 1, Out: 1, Kernel: 3, Dilation: 2, Stride: 1, Causal: true, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	x1 := []float32{1, 2, 3, 4, 5, 6}
	x2 := []float32{1, 2, 3, 9, 9, 9}
	y1 := c.Forward(autograd.Const(tensor.FromFloat32(be, x1, 1, 1, 6))).Value.Float32s()
	y2 := c.Forward(autograd.Const(tensor.FromFloat32(be, x2, 1, 1, 6))).Value.Float32s()
	for i := range 3 {
		if y1[i] != y2[i] {
			t.Fatalf("causal conv leaks the future: %v vs %v", y1, y2)
		}
	}
	w := c.Weight.Value.Float32s()
	// y[5] = w0·x[1] + w1·x[3] + w2·x[5]
	if want := w[0]*x1[1] + w[1]*x1[3] + w[2]*x1[5]; abs(y1[5]-want) > 1e-5 {
		t.Fatalf("y[5] = %v, want %v", y1[5], want)
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestFactoryAndNames(t *testing.T) {
	be := cpu.Default()
	arch := map[string][2]int{"stage2.block1.conv2": {5, 3}}
	var seen []string
	f := func(s ConvSpec) (Layer, error) {
		seen = append(seen, s.Name)
		if kd, ok := arch[s.Name]; ok {
			s.Kernel, s.Dilation = kd[0], kd[1]
		}
		return NewConv(s)
	}
	net, err := NewWRN(WRNConfig{Widen: 1, InChannels: 3, Height: 16, Width: 16, Outputs: 5, Backend: be, Factory: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 13 || seen[0] != "stem" || seen[12] != "stage3.block1.conv2" {
		t.Fatalf("factory calls %v", seen)
	}
	c := net.SearchableLayers()["stage2.block1.conv2"].(*Conv)
	if c.Spec.Kernel != 5 || c.Weight.Name != "stage2.block1.conv2.weight" {
		t.Fatalf("conv %+v %s", c.Spec, c.Weight.Name)
	}
	names := map[string]bool{}
	for _, p := range StateVars(net) {
		if names[p.Name] || p.Name == "" {
			t.Fatalf("duplicate or empty name %q", p.Name)
		}
		names[p.Name] = true
	}
	for _, n := range []string{"stage1.block0.bn1.running_mean", "stage2.block0.shortcut.weight", "head.bias", "bn.weight"} {
		if !names[n] {
			t.Errorf("missing %s", n)
		}
	}
	if got := forwardShape(t, net, 2, 3, 16, 16); !eq(got, []int{2, 5}) {
		t.Errorf("output %v", got)
	}
}

func TestBadConfig(t *testing.T) {
	be := cpu.Default()
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"unknown backbone", func() error {
			_, err := Build(Config{Name: "vgg", InShape: []int{3, 32, 32}, Outputs: 10, Backend: be})
			return err
		}, `unknown backbone "vgg"`},
		{"kernel larger than input", func() error {
			_, err := NewResNet1D(ResNet1DConfig{InChannels: 1, Length: 5, Outputs: 4, Backend: be})
			return err
		}, `conv "block0.conv1": kernel 8 (dilation 1, receptive field 8) is larger than the input (5)`},
		{"negative dilation", func() error {
			_, err := NewConv(ConvSpec{Name: "c", Dims: 1, In: 1, Out: 1, Kernel: 3, Dilation: -2, Stride: 1, Backend: be})
			return err
		}, "dilation -2, want > 0"},
		{"negative dilation from factory", func() error {
			_, err := NewWRN(WRNConfig{Widen: 1, InChannels: 3, Height: 8, Width: 8, Outputs: 2, Backend: be,
				Factory: func(s ConvSpec) (Layer, error) { s.Dilation = -1; return NewConv(s) }})
			return err
		}, `conv factory for "stem"`},
		{"2-D shape for 1-D backbone", func() error {
			_, err := Build(Config{Name: "resnet1d", InShape: []int{3, 32, 32}, Outputs: 10, Backend: be})
			return err
		}, `backbone "resnet1d" needs a 1-D input [C,L], have shape [3 32 32]`},
		{"bad depth", func() error {
			_, err := NewWRN(WRNConfig{Depth: 15, InChannels: 3, Outputs: 2, Backend: be})
			return err
		}, "depth 15, want 6n+4"},
		{"input does not fit", func() error {
			net, err := Build(Config{Name: "wrn", InShape: []int{3, 32, 32}, Outputs: 10, Width: 1, Backend: be})
			if err != nil {
				return err
			}
			return CheckInput(net, []int{1, 28, 28})
		}, "input shape [1 28 28] does not fit the backbone: want [3 32 32]"},
	} {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
