package tensor_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

var be = cpu.Default()

func randSlice(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestViews(t *testing.T) {
	x := tensor.FromFloat32(be, []float32{0, 1, 2, 3, 4, 5}, 2, 3)
	near(t, "transpose", x.Transpose(0, 1).Float32s(), []float32{0, 3, 1, 4, 2, 5}, 0)
	near(t, "slice", x.Slice(1, 1, 3).Float32s(), []float32{1, 2, 4, 5}, 0)
	near(t, "index", x.Index(0, 1).Float32s(), []float32{3, 4, 5}, 0)
	near(t, "reshape", x.Reshape(3, -1).Float32s(), []float32{0, 1, 2, 3, 4, 5}, 0)
	near(t, "reshape-of-transpose", x.Transpose(0, 1).Reshape(6).Float32s(), []float32{0, 3, 1, 4, 2, 5}, 0)
	b := tensor.FromFloat32(be, []float32{7, 8, 9}, 3).BroadcastTo(2, 3)
	near(t, "broadcast", b.Float32s(), []float32{7, 8, 9, 7, 8, 9}, 0)
	near(t, "unsqueeze", x.Unsqueeze(1).BroadcastTo(2, 2, 3).Float32s(), []float32{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}, 0)
	c := tensor.Concat(1, x, x.Slice(1, 0, 1))
	near(t, "concat", c.Float32s(), []float32{0, 1, 2, 0, 3, 4, 5, 3}, 0)
	parts := tensor.Split(c, 1, 1, 3)
	near(t, "split", parts[1].Float32s(), []float32{1, 2, 0, 4, 5, 3}, 0)
	p := tensor.Pad(tensor.FromFloat32(be, []float32{1, 2}, 1, 2), []int{1, 0}, []int{0, 1})
	near(t, "pad", p.Float32s(), []float32{0, 0, 0, 1, 2, 0}, 0)
	near(t, "crop", tensor.Crop(x, []int{1, 1}, []int{1, 2}).Float32s(), []float32{4, 5}, 0)
	v := x.Clone()
	v.Slice(1, 1, 2).Fill(-1)
	near(t, "fill-view", v.Float32s(), []float32{0, -1, 2, 3, -1, 5}, 0)
	if x.Transpose(0, 1).IsContiguous() || !x.IsContiguous() {
		t.Fatal("IsContiguous wrong")
	}
}

func TestViewPanicsNameOp(t *testing.T) {
	x := tensor.Zeros(be, 2, 3)
	cases := map[string]func(){
		"Reshape":     func() { x.Reshape(4, 2) },
		"Slice":       func() { x.Slice(1, 2, 5) },
		"BroadcastTo": func() { x.BroadcastTo(3, 3) },
		"Binary":      func() { tensor.Add(x, tensor.Zeros(be, 4)) },
		"MatMul":      func() { tensor.MatMul(x, tensor.Zeros(be, 2, 3)) },
		"Permute":     func() { x.Permute(0, 0) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if r == nil || !contains(s, name) {
					t.Fatalf("panic %v does not name %s", r, name)
				}
			}()
			f()
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestUnaryOps(t *testing.T) {
	xs := randSlice(1, 101)
	x := tensor.FromFloat32(be, xs, 101)
	type tc struct {
		op   tensor.UnaryOp
		a, b float32
		ref  func(float64) float64
	}
	cases := []tc{
		{tensor.OpNeg, 0, 0, func(v float64) float64 { return -v }},
		{tensor.OpAbs, 0, 0, math.Abs},
		{tensor.OpExp, 0, 0, math.Exp},
		{tensor.OpSquare, 0, 0, func(v float64) float64 { return v * v }},
		{tensor.OpReLU, 0, 0, func(v float64) float64 { return math.Max(v, 0) }},
		{tensor.OpSigmoid, 0, 0, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{tensor.OpTanh, 0, 0, math.Tanh},
		{tensor.OpGELU, 0, 0, func(v float64) float64 { return v * 0.5 * (1 + math.Erf(v/math.Sqrt2)) }},
		{tensor.OpSoftplus, 0, 0, func(v float64) float64 { return math.Log(1 + math.Exp(v)) }},
		{tensor.OpLogSigmoid, 0, 0, func(v float64) float64 { return -math.Log(1 + math.Exp(-v)) }},
		{tensor.OpSin, 0, 0, math.Sin},
		{tensor.OpCos, 0, 0, math.Cos},
		{tensor.OpAffine, 3, -1, func(v float64) float64 { return 3*v - 1 }},
		{tensor.OpClampMin, 0.2, 0, func(v float64) float64 { return math.Max(v, 0.2) }},
		{tensor.OpClampMax, 0.2, 0, func(v float64) float64 { return math.Min(v, 0.2) }},
		{tensor.OpThreshold, 0.1, 5, func(v float64) float64 {
			if v >= 0.1 {
				return 5
			}
			return 0
		}},
	}
	for _, c := range cases {
		got := tensor.Unary(c.op, x, c.a, c.b).Float32s()
		want := make([]float32, len(xs))
		for i, v := range xs {
			want[i] = float32(c.ref(float64(v)))
		}
		near(t, "unary", got, want, 1e-5)
	}
	pos := tensor.Abs(x)
	near(t, "log", tensor.Log(tensor.AddScalar(pos, 1)).Float32s(), mapf(xs, func(v float64) float64 { return math.Log(math.Abs(v) + 1) }), 1e-5)
	near(t, "sqrt", tensor.Sqrt(pos).Float32s(), mapf(xs, func(v float64) float64 { return math.Sqrt(math.Abs(v)) }), 1e-5)
	// non-contiguous input
	m := tensor.FromFloat32(be, xs[:100], 10, 10).Transpose(0, 1)
	got := tensor.Neg(m).Float32s()
	for i := 0; i < 10; i++ {
		for j := 0; j < 10; j++ {
			if got[i*10+j] != -xs[j*10+i] {
				t.Fatalf("unary on transposed view wrong at %d,%d", i, j)
			}
		}
	}
}

func mapf(xs []float32, f func(float64) float64) []float32 {
	out := make([]float32, len(xs))
	for i, v := range xs {
		out[i] = float32(f(float64(v)))
	}
	return out
}

func TestBinaryBroadcast(t *testing.T) {
	shapes := [][2][]int{
		{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 5}}, {{2, 3, 1, 5}, {3, 7, 1}}, {{1}, {6}}, {{7, 1, 3}, {7, 2, 3}},
	}
	for _, s := range shapes {
		a := tensor.FromFloat32(be, randSlice(2, tensor.Numel(s[0])), s[0]...)
		b := tensor.FromFloat32(be, randSlice(3, tensor.Numel(s[1])), s[1]...)
		out := tensor.BroadcastShapes("test", s[0], s[1])
		for _, op := range []tensor.BinaryOp{tensor.OpAdd, tensor.OpSub, tensor.OpMul, tensor.OpDiv, tensor.OpMax, tensor.OpMin} {
			got := tensor.Binary(op, a, b).Float32s()
			ab := a.BroadcastTo(out...).Float32s()
			bb := b.BroadcastTo(out...).Float32s()
			want := make([]float32, len(ab))
			for i := range ab {
				want[i] = cpu.BinaryScalar(op, ab[i], bb[i])
			}
			near(t, "binary", got, want, 1e-6)
		}
	}
}

func TestReductions(t *testing.T) {
	xs := randSlice(4, 2*3*5*7)
	x := tensor.FromFloat32(be, xs, 2, 3, 5, 7)
	at := func(i, j, k, l int) float32 { return xs[((i*3+j)*5+k)*7+l] }
	// sum over axes 1 and 3
	got := tensor.Sum(x, false, 1, 3).Float32s()
	for i := 0; i < 2; i++ {
		for k := 0; k < 5; k++ {
			var s float64
			for j := 0; j < 3; j++ {
				for l := 0; l < 7; l++ {
					s += float64(at(i, j, k, l))
				}
			}
			near(t, "sum", got[i*5+k:i*5+k+1], []float32{float32(s)}, 1e-5)
		}
	}
	mx := tensor.Max(x, true, 2)
	if sh := mx.Shape(); !tensor.SameShape(sh, []int{2, 3, 1, 7}) {
		t.Fatalf("keep shape %v", sh)
	}
	am := tensor.ArgMax(x, 2).Int32s()
	mxs := mx.Float32s()
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for l := 0; l < 7; l++ {
				best, bi := at(i, j, 0, l), 0
				for k := 1; k < 5; k++ {
					if v := at(i, j, k, l); v > best {
						best, bi = v, k
					}
				}
				idx := (i*3+j)*7 + l
				if mxs[idx] != best || int(am[idx]) != bi {
					t.Fatalf("max/argmax at %d: %v/%d want %v/%d", idx, mxs[idx], am[idx], best, bi)
				}
			}
		}
	}
	mean := tensor.Mean(x, false).Item()
	var s float64
	for _, v := range xs {
		s += float64(v)
	}
	near(t, "mean", []float32{mean}, []float32{float32(s / float64(len(xs)))}, 1e-5)
	st := tensor.SumTo(x, 3, 1, 7).Float32s()
	ref := tensor.Sum(tensor.Sum(x, false, 0), true, 1).Float32s()
	near(t, "sumto", st, ref, 1e-5)
}

func TestMatMul(t *testing.T) {
	type tc struct{ a, b []int }
	cases := []tc{{[]int{1, 1}, []int{1, 1}}, {[]int{7, 13}, []int{13, 17}}, {[]int{3, 5, 4}, []int{3, 4, 2}}, {[]int{2, 3, 5, 4}, []int{4, 6}}, {[]int{65, 33}, []int{33, 129}}}
	for _, c := range cases {
		a := tensor.FromFloat32(be, randSlice(5, tensor.Numel(c.a)), c.a...)
		b := tensor.FromFloat32(be, randSlice(6, tensor.Numel(c.b)), c.b...)
		got := tensor.MatMul(a, b)
		want := naiveMatMul(a, b)
		near(t, "matmul", got.Float32s(), want, 1e-4)
		// transposed views used in place
		at := a.Transpose(-1, -2).Clone().Transpose(-1, -2)
		bt := b.Transpose(-1, -2).Clone().Transpose(-1, -2)
		near(t, "matmul-transposed", tensor.MatMul(at, bt).Float32s(), want, 1e-4)
	}
}

func naiveMatMul(a, b *tensor.Tensor) []float32 {
	as, bs := a.Shape(), b.Shape()
	M, K, N := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	batch := tensor.BroadcastShapes("naive", as[:len(as)-2], bs[:len(bs)-2])
	ab := a.BroadcastTo(append(append([]int{}, batch...), M, K)...).Float32s()
	bb := b.BroadcastTo(append(append([]int{}, batch...), K, N)...).Float32s()
	nb := tensor.Numel(batch)
	out := make([]float32, nb*M*N)
	for p := 0; p < nb; p++ {
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				var s float64
				for k := 0; k < K; k++ {
					s += float64(ab[p*M*K+i*K+k]) * float64(bb[p*K*N+k*N+j])
				}
				out[p*M*N+i*N+j] = float32(s)
			}
		}
	}
	return out
}

func TestLossesAndSoftmax(t *testing.T) {
	logits := []float32{1, 2, 3, -1, 0, 4}
	x := tensor.FromFloat32(be, logits, 2, 3)
	sm := tensor.Softmax(x, 1).Float32s()
	z0 := math.Exp(1) + math.Exp(2) + math.Exp(3)
	z1 := math.Exp(-1) + math.Exp(0) + math.Exp(4)
	near(t, "softmax", sm, []float32{float32(math.Exp(1) / z0), float32(math.Exp(2) / z0), float32(math.Exp(3) / z0), float32(math.Exp(-1) / z1), float32(1 / z1), float32(math.Exp(4) / z1)}, 1e-6)
	labels := tensor.FromInt32(be, []int32{2, 0}, 2)
	ce, _ := tensor.CrossEntropy(x, labels)
	want := (-(3 - math.Log(z0)) - (-1 - math.Log(z1))) / 2
	near(t, "cross-entropy", []float32{ce.Item()}, []float32{float32(want)}, 1e-6)
	y := tensor.FromFloat32(be, []float32{1, 0, 1, 0, 1, 0}, 2, 3)
	bce := tensor.BCEWithLogits(x, y, 3).Item()
	var s float64
	for i, l := range logits {
		yv := float64([]float32{1, 0, 1, 0, 1, 0}[i])
		p := 1 / (1 + math.Exp(-float64(l)))
		s += -(3*yv*math.Log(p) + (1-yv)*math.Log(1-p))
	}
	near(t, "bce", []float32{bce}, []float32{float32(s / 6)}, 1e-5)
	mse := tensor.MSE(x, y).Item()
	var m float64
	for i, l := range logits {
		d := float64(l) - float64([]float32{1, 0, 1, 0, 1, 0}[i])
		m += d * d
	}
	near(t, "mse", []float32{mse}, []float32{float32(m / 6)}, 1e-6)
	rel := tensor.RelativeL2(x, y).Item()
	r0 := math.Sqrt(0+4+4) / math.Sqrt(2)
	r1 := math.Sqrt(1+1+16) / math.Sqrt(1)
	near(t, "relative-l2", []float32{rel}, []float32{float32((r0 + r1) / 2)}, 1e-6)
}

func TestRandomDeterministicAndDistributed(t *testing.T) {
	u1 := tensor.RandUniform(be, 11, 0, 1, 100000).Float32s()
	u2 := tensor.RandUniform(be, 11, 0, 1, 100000).Float32s()
	u3 := tensor.RandUniform(be, 12, 0, 1, 100000).Float32s()
	near(t, "same seed", u1, u2, 0)
	var mean, same float64
	for i, v := range u1 {
		if v < 0 || v >= 1 {
			t.Fatalf("uniform out of range: %v", v)
		}
		mean += float64(v)
		if v == u3[i] {
			same++
		}
	}
	mean /= float64(len(u1))
	if math.Abs(mean-0.5) > 0.005 || same > 10 {
		t.Fatalf("uniform mean %v, equal draws across seeds %v", mean, same)
	}
	n := tensor.RandNormal(be, 3, 2, 3, 100000).Float32s()
	var mu, v2 float64
	for _, v := range n {
		mu += float64(v)
	}
	mu /= float64(len(n))
	for _, v := range n {
		v2 += (float64(v) - mu) * (float64(v) - mu)
	}
	sd := math.Sqrt(v2 / float64(len(n)))
	if math.Abs(mu-2) > 0.05 || math.Abs(sd-3) > 0.05 {
		t.Fatalf("normal mean %v sd %v, want 2, 3", mu, sd)
	}
	mask := tensor.DropoutMask(be, 0.25, 5, 40000).Float32s()
	var kept float64
	for _, v := range mask {
		if v != 0 {
			if math.Abs(float64(v)-4.0/3) > 1e-6 {
				t.Fatalf("mask value %v", v)
			}
			kept++
		}
	}
	if f := kept / float64(len(mask)); math.Abs(f-0.75) > 0.01 {
		t.Fatalf("dropout kept fraction %v, want 0.75", f)
	}
}

func TestOptimizerSteps(t *testing.T) {
	p := tensor.FromFloat32(be, []float32{1, -2}, 2)
	g := tensor.FromFloat32(be, []float32{0.5, 1}, 2)
	m := tensor.Zeros(be, 2)
	o := tensor.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true}
	tensor.SGDStep(p, g, m, o)
	tensor.SGDStep(p, g, m, o)
	// reference in float64
	pr := []float64{1, -2}
	mr := []float64{0, 0}
	gr := []float64{0.5, 1}
	for range 2 {
		for i := range pr {
			gi := gr[i] + 0.01*pr[i]
			mr[i] = 0.9*mr[i] + gi
			pr[i] -= 0.1 * (gi + 0.9*mr[i])
		}
	}
	near(t, "sgd", p.Float32s(), []float32{float32(pr[0]), float32(pr[1])}, 1e-6)
	pa := tensor.FromFloat32(be, []float32{1, -2}, 2)
	ma, va := tensor.Zeros(be, 2), tensor.Zeros(be, 2)
	tensor.AdamStep(pa, g, ma, va, tensor.AdamParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1})
	// first Adam step moves each parameter by lr·sign(g)
	near(t, "adam", pa.Float32s(), []float32{0.99, -2.01}, 1e-5)
}
