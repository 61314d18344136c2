package tensor_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// refConv2d is a direct float64 cross-correlation with explicit padding
// before/after each axis (x [N,C,H,W], w [K,C/G,KH,KW]).
func refConv2d(x, w []float32, xs, ws []int, stride, dil, pb, pa []int, groups int) ([]float64, []int) {
	N, C, H, W := xs[0], xs[1], xs[2], xs[3]
	K, KH, KW := ws[0], ws[2], ws[3]
	cg, kg := C/groups, K/groups
	OH := (H+pb[0]+pa[0]-dil[0]*(KH-1)-1)/stride[0] + 1
	OW := (W+pb[1]+pa[1]-dil[1]*(KW-1)-1)/stride[1] + 1
	y := make([]float64, N*K*OH*OW)
	for n := range N {
		for k := range K {
			g := k / kg
			for oh := range OH {
				for ow := range OW {
					var s float64
					for ci := range cg {
						for kh := range KH {
							for kw := range KW {
								ih, iw := oh*stride[0]+kh*dil[0]-pb[0], ow*stride[1]+kw*dil[1]-pb[1]
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								s += float64(x[((n*C+g*cg+ci)*H+ih)*W+iw]) * float64(w[((k*cg+ci)*KH+kh)*KW+kw])
							}
						}
					}
					y[((n*K+k)*OH+oh)*OW+ow] = s
				}
			}
		}
	}
	return y, []int{N, K, OH, OW}
}

func closeTo(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func TestConvOps(t *testing.T) {
	be := cpu.Default()
	type tc struct {
		name   string
		xs, ws []int // 1-D shapes are rank 3
		o      tensor.ConvOptions
		pb, pa []int // expected padding before/after per spatial axis
	}
	cases := []tc{
		{"1d-valid", []int{2, 3, 10}, []int{4, 3, 3}, tensor.ConvOptions{}, []int{0}, []int{0}},
		{"1d-same-odd", []int{2, 3, 10}, []int{4, 3, 5}, tensor.ConvOptions{Padding: tensor.PadSame}, []int{2}, []int{2}},
		{"1d-same-even", []int{1, 2, 9}, []int{3, 2, 4}, tensor.ConvOptions{Padding: tensor.PadSame}, []int{1}, []int{2}},
		{"1d-same-even-dil3", []int{2, 2, 17}, []int{2, 2, 4}, tensor.ConvOptions{Padding: tensor.PadSame, Dilation: []int{3}}, []int{4}, []int{5}},
		{"1d-causal-dil2", []int{2, 3, 11}, []int{3, 3, 3}, tensor.ConvOptions{Padding: tensor.PadCausal, Dilation: []int{2}}, []int{4}, []int{0}},
		{"1d-explicit-stride3", []int{3, 4, 23}, []int{6, 2, 5}, tensor.ConvOptions{Padding: tensor.Padding{Before: []int{3}, After: []int{1}}, Stride: []int{3}, Groups: 2}, []int{3}, []int{1}},
		{"1d-depthwise", []int{2, 5, 19}, []int{5, 1, 7}, tensor.ConvOptions{Padding: tensor.PadSame, Groups: 5, Dilation: []int{2}}, []int{6}, []int{6}},
		{"2d-sym", []int{2, 3, 7, 8}, []int{4, 3, 3, 3}, tensor.ConvOptions{Padding: tensor.PadSym(1)}, []int{1, 1}, []int{1, 1}},
		{"2d-same-even-mixed-dil", []int{1, 2, 9, 7}, []int{2, 2, 4, 2}, tensor.ConvOptions{Padding: tensor.PadSame, Dilation: []int{2, 3}}, []int{3, 1}, []int{3, 2}},
		{"2d-stride-pad-big", []int{2, 2, 5, 6}, []int{4, 1, 3, 2}, tensor.ConvOptions{Padding: tensor.PadSym(3, 4), Stride: []int{2, 3}, Groups: 2}, []int{3, 4}, []int{3, 4}},
		{"2d-depthwise-stride2", []int{2, 4, 9, 9}, []int{4, 1, 3, 3}, tensor.ConvOptions{Padding: tensor.PadSym(1), Stride: []int{2}, Groups: 4}, []int{1, 1}, []int{1, 1}},
		{"2d-causal", []int{1, 2, 5, 6}, []int{2, 2, 2, 3}, tensor.ConvOptions{Padding: tensor.PadCausal}, []int{1, 2}, []int{0, 0}},
	}
	seed := uint64(1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed++
			x := tensor.RandNormal(be, seed, 0, 1, c.xs...)
			w := tensor.RandNormal(be, seed+100, 0, 1, c.ws...)
			xs4, ws4 := c.xs, c.ws
			stride, dil := []int{1, 1}, []int{1, 1}
			pb, pa := c.pb, c.pa
			if len(c.xs) == 3 {
				xs4 = []int{c.xs[0], c.xs[1], 1, c.xs[2]}
				ws4 = []int{c.ws[0], c.ws[1], 1, c.ws[2]}
				pb, pa = []int{0, c.pb[0]}, []int{0, c.pa[0]}
			}
			sp := len(c.xs) - 2
			for i := range sp {
				a := i + 2 - sp
				if len(c.o.Stride) > 0 {
					stride[a] = c.o.Stride[min(i, len(c.o.Stride)-1)]
				}
				if len(c.o.Dilation) > 0 {
					dil[a] = c.o.Dilation[min(i, len(c.o.Dilation)-1)]
				}
			}
			g := max(c.o.Groups, 1)
			want, shape4 := refConv2d(x.Float32s(), w.Float32s(), xs4, ws4, stride, dil, pb, pa, g)
			var y *tensor.Tensor
			wantShape := shape4
			if len(c.xs) == 3 {
				y = tensor.Conv1d(x, w, c.o)
				wantShape = []int{shape4[0], shape4[1], shape4[3]}
			} else {
				y = tensor.Conv2d(x, w, c.o)
			}
			if !tensor.SameShape(y.Shape(), wantShape) {
				t.Fatalf("shape %v, want %v", y.Shape(), wantShape)
			}
			closeTo(t, "y", y.Float32s(), want)
			// the backward ops agree with the kernel-level contract: <dy, conv(x)> = <dx(dy), x> = <dw(dy), w>.
			dy := tensor.RandNormal(be, seed+200, 0, 1, y.Shape()...)
			dx := tensor.ConvBackwardData(dy, w, x.Shape(), c.o)
			dw := tensor.ConvBackwardFilter(x, dy, w.Shape(), c.o)
			lhs := dot(dy.Float32s(), y.Float32s())
			if r := dot(dx.Float32s(), x.Float32s()); math.Abs(r-lhs) > 1e-3*(1+math.Abs(lhs)) {
				t.Fatalf("<dx,x> = %v, <dy,y> = %v", r, lhs)
			}
			if r := dot(dw.Float32s(), w.Float32s()); math.Abs(r-lhs) > 1e-3*(1+math.Abs(lhs)) {
				t.Fatalf("<dw,w> = %v, <dy,y> = %v", r, lhs)
			}
		})
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestConvNonContiguousInputs(t *testing.T) {
	be := cpu.Default()
	// x as a permuted view and w as a slice at a nonzero offset.
	xt := tensor.RandNormal(be, 1, 0, 1, 2, 9, 3) // [N, L, C]
	x := xt.Permute(0, 2, 1)                      // [N, C, L], non-contiguous
	wb := tensor.RandNormal(be, 2, 0, 1, 6, 3, 3)
	w := wb.Slice(0, 2, 6) // offset view
	o := tensor.ConvOptions{Padding: tensor.PadSame}
	got := tensor.Conv1d(x, w, o).Float32s()
	want := tensor.Conv1d(x.Clone(), w.Clone(), o).Float32s()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestConvHandValues(t *testing.T) {
	be := cpu.Default()
	// x = [1 2 3 4 5], w = [1 0 -1]: 'same' → [-2 -2 -2 -2 4]; causal → [-1 -2 -2 -2 -2].
	x := tensor.FromFloat32(be, []float32{1, 2, 3, 4, 5}, 1, 1, 5)
	w := tensor.FromFloat32(be, []float32{1, 0, -1}, 1, 1, 3)
	for _, c := range []struct {
		p    tensor.Padding
		want []float32
	}{
		{tensor.PadSame, []float32{-2, -2, -2, -2, 4}},
		{tensor.PadCausal, []float32{-1, -2, -2, -2, -2}},
		{tensor.Padding{}, []float32{-2, -2, -2}},
	} {
		got := tensor.Conv1d(x, w, tensor.ConvOptions{Padding: c.p}).Float32s()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("padding %v: got %v, want %v", c.p, got, c.want)
		}
	}
}

func TestConvBadOptions(t *testing.T) {
	cases := []struct {
		name   string
		xs, ws []int
		o      tensor.ConvOptions
		msg    string
	}{
		{"kernel-too-large", []int{1, 2, 5}, []int{3, 2, 7}, tensor.ConvOptions{}, "kernel larger than padded input"},
		{"dilated-too-large", []int{1, 2, 9}, []int{3, 2, 3}, tensor.ConvOptions{Dilation: []int{5}}, "kernel larger than padded input"},
		{"zero-stride", []int{1, 2, 9}, []int{3, 2, 3}, tensor.ConvOptions{Stride: []int{0}}, "non-positive stride"},
		{"neg-dilation", []int{1, 2, 6, 6}, []int{3, 2, 3, 3}, tensor.ConvOptions{Dilation: []int{1, -1}}, "non-positive dilation"},
		{"groups-c", []int{1, 3, 9}, []int{4, 1, 3}, tensor.ConvOptions{Groups: 2}, "input channels 3 not divisible by groups 2"},
		{"groups-k", []int{1, 4, 9}, []int{3, 2, 3}, tensor.ConvOptions{Groups: 2}, "output channels 3 not divisible by groups 2"},
		{"wrong-cin", []int{1, 4, 9}, []int{4, 3, 3}, tensor.ConvOptions{}, "input channels"},
		{"rank-mismatch", []int{1, 4, 9}, []int{4, 4, 3, 3}, tensor.ConvOptions{}, "does not match"},
		{"stride-len", []int{1, 2, 6, 6}, []int{3, 2, 3, 3}, tensor.ConvOptions{Stride: []int{1, 2, 3}}, "want 1 or 2 values"},
		{"neg-padding", []int{1, 2, 6}, []int{3, 2, 3}, tensor.ConvOptions{Padding: tensor.PadSym(-1)}, "negative padding"},
	}
	be := cpu.Default()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tensor.ConvParamsFor(c.xs, c.ws, c.o)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %v, want one containing %q", err, c.msg)
			}
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.msg) || !strings.HasPrefix(s, "tensor.Conv") {
					t.Fatalf("panic %v, want one containing %q", r, c.msg)
				}
			}()
			x, w := tensor.Zeros(be, c.xs...), tensor.Zeros(be, c.ws...)
			if len(c.xs) == 3 {
				tensor.Conv1d(x, w, c.o)
			} else {
				tensor.Conv2d(x, w, c.o)
			}
		})
	}
}

func TestPoolOps(t *testing.T) {
	be := cpu.Default()
	x := tensor.FromFloat32(be, []float32{3, -1, 4, 1, -5, 9, 2, -6}, 1, 1, 8)
	if got := fmt.Sprint(tensor.MaxPool1d(x, 2, 0, 0).Float32s()); got != "[3 4 9 2]" {
		t.Errorf("MaxPool1d k2 = %v", got)
	}
	if got := fmt.Sprint(tensor.MaxPool1d(x, 3, 2, 1).Float32s()); got != "[3 4 9 9]" {
		t.Errorf("MaxPool1d k3 s2 p1 = %v", got)
	}
	y, idx := tensor.MaxPool(x, tensor.PoolOptions{Kernel: []int{3}, Stride: []int{2}, Padding: []int{1}})
	if got := fmt.Sprint(idx.Int32s()); got != "[0 2 5 5]" {
		t.Errorf("MaxPool indices = %v (y %v)", got, y.Float32s())
	}
	// count_include_pad: the first window [pad, 3, -1] averages to 2/3.
	if got := tensor.AvgPool1d(x, 3, 2, 1).Float32s(); math.Abs(float64(got[0])-2.0/3) > 1e-6 || len(got) != 4 {
		t.Errorf("AvgPool1d = %v", got)
	}
	x2 := tensor.RandNormal(be, 3, 0, 1, 2, 3, 7, 6)
	if s := tensor.MaxPool2d(x2, 3, 2, 1).Shape(); !tensor.SameShape(s, []int{2, 3, 4, 3}) {
		t.Errorf("MaxPool2d shape %v", s)
	}
	if s := tensor.AvgPool2d(x2, 2, 0, 0).Shape(); !tensor.SameShape(s, []int{2, 3, 3, 3}) {
		t.Errorf("AvgPool2d shape %v", s)
	}
	g := tensor.GlobalAvgPool(x2)
	if s := g.Shape(); !tensor.SameShape(s, []int{2, 3}) {
		t.Fatalf("GlobalAvgPool shape %v", s)
	}
	xv := x2.Float32s()
	var m float64
	for _, v := range xv[:42] {
		m += float64(v)
	}
	if got := g.Float32s()[0]; math.Abs(float64(got)-m/42) > 1e-5 {
		t.Errorf("GlobalAvgPool[0] = %v, want %v", got, m/42)
	}
	for _, c := range []struct {
		o   tensor.PoolOptions
		msg string
	}{
		{tensor.PoolOptions{Kernel: []int{3}, Padding: []int{2}}, "half the kernel"},
		{tensor.PoolOptions{Kernel: []int{9}}, "kernel larger than padded input"},
		{tensor.PoolOptions{Kernel: []int{0}}, "non-positive kernel"},
		{tensor.PoolOptions{}, "no kernel"},
	} {
		if _, err := tensor.PoolParamsFor([]int{1, 1, 8}, c.o); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("PoolParamsFor(%+v) error %v, want %q", c.o, err, c.msg)
		}
	}
}
