//go:build cgo

package vk

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

func TestWriteReadFillRoundTrip(t *testing.T) {
	for _, staging := range []bool{false, true} {
		t.Run(fmt.Sprintf("staging=%v", staging), func(t *testing.T) {
			be := newTestBackend(t, Options{ForceStaging: staging})
			r := rand.New(rand.NewSource(1))
			for _, n := range []int{1, 5, 1000, 100003} {
				data := randSlice(r, n, -1, 1)
				b := be.Alloc(n + 3)
				zero := make([]float32, n+3)
				compare(t, "alloc zero", readG(be, b), zero, 0, 0)
				be.WriteFloat32(b, 2, data)
				got := make([]float32, n)
				be.ReadFloat32(b, 2, got)
				compare(t, "round trip", got, data, 0, 0)
				be.Fill(b, 1, n, 2.5)
				be.FillInt32(b, 0, 1, -7)
				iv := make([]int32, 1)
				be.ReadInt32(b, 0, iv)
				if iv[0] != -7 {
					t.Errorf("FillInt32: got %d", iv[0])
				}
				be.ReadFloat32(b, 1, got)
				for i := range got {
					if got[i] != 2.5 {
						t.Fatalf("Fill: [%d] = %g", i, got[i])
					}
				}
				be.Free(b)
			}
		})
	}
}

// A write to a buffer that queued work still reads must not be seen by
// that work (the write is ordered after it on the device).
func TestWriteOrderedAfterQueuedReads(t *testing.T) {
	be := newTestBackend(t, Options{})
	n := 1000
	a, b := be.Alloc(n), be.Alloc(n)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	be.WriteFloat32(a, 0, ones)
	be.Unary(tensor.OpAffine, b, a, n, 2, 0) // b = 2a = 2, queued
	twos := make([]float32, n)
	for i := range twos {
		twos[i] = 5
	}
	be.WriteFloat32(a, 0, twos) // a = 5 after the queued op
	got := readG(be, b)
	for i := range got {
		if got[i] != 2 {
			t.Fatalf("b[%d] = %g, want 2", i, got[i])
		}
	}
	got = readG(be, a)
	if got[0] != 5 {
		t.Fatalf("a[0] = %g, want 5", got[0])
	}
}

func TestCopyConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(2))
	cases := []struct {
		shape          []int
		dstSt, srcSt   []int
		dstOff, srcOff int
		dstN, srcN     int
	}{
		{[]int{7}, []int{1}, []int{1}, 0, 3, 7, 10},
		{[]int{5, 3}, []int{1, 5}, []int{3, 1}, 0, 0, 15, 15},           // transpose
		{[]int{4, 257}, []int{257, 1}, []int{0, 1}, 0, 0, 4 * 257, 257}, // broadcast rows
		{[]int{3, 1, 5, 2}, []int{10, 10, 2, 1}, []int{1, 7, 3, 15}, 1, 2, 31, 40},
		{[]int{65537, 2}, []int{1, 65537}, []int{2, 1}, 0, 0, 131074, 131074},
		{[]int{2, 3, 2, 3, 2, 3, 2, 3}, nil, nil, 0, 0, 1296, 1296},
	}
	for ci, cs := range cases {
		if cs.dstSt == nil { // 8-D permutation
			cs.dstSt = []int{648, 216, 108, 36, 18, 6, 3, 1}
			cs.srcSt = []int{1, 2, 6, 12, 36, 72, 216, 432}
		}
		src := mkpair(be, randSlice(r, cs.srcN, -5, 5))
		dst := mkpair(be, randSlice(r, cs.dstN, -5, 5))
		be.Copy(dst.g, cs.dstOff, cs.dstSt, src.g, cs.srcOff, cs.srcSt, cs.shape)
		ref.Copy(dst.c, cs.dstOff, cs.dstSt, src.c, cs.srcOff, cs.srcSt, cs.shape)
		dst.check(t, be, fmt.Sprintf("copy case %d", ci), 0, 0)
		src.free(be)
		dst.free(be)
	}
}

func TestUnaryConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(3))
	for op := tensor.OpIdentity; op <= tensor.OpLogSigmoid; op++ {
		lo, hi := float32(-6), float32(6)
		switch op {
		case tensor.OpLog, tensor.OpSqrt, tensor.OpRsqrt, tensor.OpPowScalar:
			lo = 0.01
		}
		for _, n := range []int{1, 257, 70001} {
			x := mkpair(be, randSlice(r, n, lo, hi))
			y := mkpair(be, make([]float32, n))
			be.Unary(op, y.g, x.g, n, 1.7, -0.3)
			ref.Unary(op, y.c, x.c, n, 1.7, -0.3)
			y.check(t, be, fmt.Sprintf("unary op %d n %d", op, n), 1e-6, 2e-6)
			// in place
			be.Unary(op, x.g, x.g, n, 0.5, 2)
			ref.Unary(op, x.c, x.c, n, 0.5, 2)
			x.check(t, be, fmt.Sprintf("unary op %d n %d in place", op, n), 1e-6, 2e-6)
			x.free(be)
			y.free(be)
		}
	}
}

func TestBinaryConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(4))
	type bc struct {
		shape      []int
		aSt, bSt   []int
		aOff, bOff int
	}
	cases := []bc{
		{[]int{1}, []int{1}, []int{1}, 0, 0},
		{[]int{1001}, []int{1}, []int{0}, 2, 5},          // scalar broadcast
		{[]int{13, 17}, []int{17, 1}, []int{0, 1}, 0, 0}, // row broadcast
		{[]int{13, 17}, []int{1, 13}, []int{1, 0}, 0, 0}, // transposed a, column b
		{[]int{3, 5, 7, 11}, []int{385, 77, 11, 1}, []int{0, 7, 1, 0}, 0, 0},
		{[]int{300, 257}, []int{257, 1}, []int{257, 1}, 0, 0},
	}
	for op := tensor.OpAdd; op <= tensor.OpSoftplusGrad; op++ {
		for ci, cs := range cases {
			lo, hi := viewSpan(cs.aOff, cs.shape, cs.aSt)
			_ = lo
			a := mkpair(be, randSlice(r, hi+1, -3, 3))
			_, hib := viewSpan(cs.bOff, cs.shape, cs.bSt)
			bl, bh := float32(-3), float32(3)
			if op == tensor.OpPow {
				a = mkpair(be, randSlice(r, hi+1, 0.1, 3))
			}
			if op == tensor.OpEqual {
				bl, bh = 0, 0
			}
			b := mkpair(be, randSlice(r, hib+1, bl, bh))
			n := numel(cs.shape)
			d := mkpair(be, make([]float32, n))
			be.Binary(op, d.g, cs.shape, a.g, cs.aOff, cs.aSt, b.g, cs.bOff, cs.bSt)
			ref.Binary(op, d.c, cs.shape, a.c, cs.aOff, cs.aSt, b.c, cs.bOff, cs.bSt)
			d.check(t, be, fmt.Sprintf("binary op %d case %d", op, ci), 1e-6, 2e-6)
			a.free(be)
			b.free(be)
			d.free(be)
		}
	}
}

func TestLargeElementwise(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(5))
	for _, n := range awkward(t) {
		x := mkpair(be, randSlice(r, n, -2, 2))
		y := mkpair(be, make([]float32, n))
		be.Unary(tensor.OpTanh, y.g, x.g, n, 0, 0)
		ref.Unary(tensor.OpTanh, y.c, x.c, n, 0, 0)
		y.check(t, be, fmt.Sprintf("tanh n=%d", n), 1e-6, 1e-6)
		be.Binary(tensor.OpMul, y.g, []int{n}, x.g, 0, []int{1}, y.g, 0, []int{1})
		ref.Binary(tensor.OpMul, y.c, []int{n}, x.c, 0, []int{1}, y.c, 0, []int{1})
		y.check(t, be, fmt.Sprintf("mul n=%d", n), 1e-6, 1e-6)
		x.free(be)
		y.free(be)
	}
}

// 100 dependent elementwise ops: at most 2 submits and exactly 1 host wait.
func TestSubmitAndWaitCounts(t *testing.T) {
	be := newTestBackend(t, Options{})
	n := 10000
	x := be.Alloc(n)
	be.Fill(x, 0, n, 1)
	be.Sync()
	s0 := be.Context().Stats()
	for i := 0; i < 100; i++ {
		be.Unary(tensor.OpAffine, x, x, n, 1, 1)
	}
	got := make([]float32, n)
	be.ReadFloat32(x, 0, got)
	s1 := be.Context().Stats()
	if got[n-1] != 101 {
		t.Fatalf("x = %g, want 101", got[n-1])
	}
	subs, waits := s1.Submits-s0.Submits, s1.Waits-s0.Waits
	t.Logf("100 ops: %d submits, %d waits, %d barriers", subs, waits, s1.Barriers-s0.Barriers)
	if subs > 2 || waits != 1 {
		t.Errorf("100 elementwise ops: %d submits and %d waits, want ≤ 2 and 1", subs, waits)
	}
	// Independent ops need no barriers.
	bufs := make([]tensor.Buffer, 10)
	for i := range bufs {
		bufs[i] = be.Alloc(n)
	}
	be.Sync()
	s2 := be.Context().Stats()
	for i := range bufs {
		be.Unary(tensor.OpExp, bufs[i], x, n, 0, 0)
	}
	be.Sync()
	// (one barrier orders the first op after x's last writer)
	if b := be.Context().Stats().Barriers - s2.Barriers; b > 1 {
		t.Errorf("10 independent ops recorded %d barriers, want ≤ 1", b)
	}
}
