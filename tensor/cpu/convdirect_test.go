package cpu

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu/internal/convgen/gen"
)

// directCases are shapes the direct path takes (N%16 or padded to it,
// C%16, K%8, 2-D):
// odd and prime sizes, dilation larger than the map, stride 2, 1×1 stride
// 2, asymmetric and oversized padding, kernels larger than the input.
var directCases = []convCase{
	// n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, phb, pha, pwb, pwa
	{16, 16, 7, 7, 16, 1, 3, 3, 1, 1, 7, 7, 7, 7, 7, 7},       // 3×3 d7 on 7×7: only the centre tap
	{16, 16, 7, 7, 24, 1, 9, 9, 1, 1, 1, 1, 4, 4, 4, 4},       // 9×9 on 7×7 (K = 24: three 8-blocks)
	{32, 16, 13, 11, 16, 1, 9, 9, 1, 1, 3, 3, 12, 12, 12, 12}, // 9×9 d3, prime sizes
	{16, 32, 5, 3, 8, 1, 3, 5, 1, 1, 1, 2, 1, 1, 4, 4},        // rectangular kernel, W < extent
	{48, 16, 9, 10, 16, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},      // stride 2, batch 48 (nv 3)
	{16, 16, 11, 9, 32, 1, 5, 5, 2, 2, 3, 1, 6, 6, 2, 2},      // stride 2, dilation 3×1
	{16, 32, 8, 8, 16, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},       // 1×1 stride 2 (shortcut)
	{64, 16, 4, 5, 16, 1, 2, 3, 1, 1, 2, 1, 3, 0, 0, 2},       // even kernel, asymmetric padding, batch 64
	{16, 48, 6, 6, 16, 1, 3, 3, 3, 2, 2, 2, 5, 0, 1, 3},       // stride 3×2, C = 48 (nv 3 in the filter)
	{16, 16, 3, 3, 8, 1, 7, 7, 1, 1, 4, 4, 12, 12, 12, 12},    // dilation > size, no valid tap at some pixels
	{10, 16, 13, 11, 16, 1, 9, 9, 1, 1, 3, 3, 12, 12, 12, 12}, // batch 10 (Darcy's): 16 lanes, 6 dropped
	{20, 32, 9, 7, 8, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},        // batch 20: 32 lanes, stride 2
	{26, 16, 5, 6, 16, 1, 5, 3, 1, 1, 2, 1, 4, 4, 1, 1},       // batch 26: 32 lanes
}

func TestDirectConvAgainstNaive(t *testing.T) {
	sets := []*dirKernelSet{goDirKernels}
	if asmDirKernels != nil {
		sets = append(sets, asmDirKernels)
	}
	saved, savedF := dirKernels, forceDirect
	defer func() { dirKernels, forceDirect = saved, savedF }()
	// every case on the direct path, whichever kernel directConvOK would
	// send elsewhere
	forceDirect = true
	r := rand.New(rand.NewPCG(5, 6))
	for _, set := range sets {
		dirKernels = set
		for _, threads := range []int{1, 2} {
			be := &Backend{threads: threads}
			for i, cc := range directCases {
				p := cc.params()
				if !directConvOK(&p, opForward) {
					t.Fatalf("case %d %+v: direct path not selected", i, p)
				}
				name := fmt.Sprintf("%s/t%d/case%d_%+v", set.name, threads, i, p)
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.K*p.C*p.KH*p.KW)
				dy := randSlice(r, p.N*p.K*p.OH*p.OW)
				y, dx, dw, ya, dxa, dwa := naiveConv(p, x, w, dy)
				yb := &Buf{F: randSlice(r, len(y))}
				dxb := &Buf{F: randSlice(r, len(dx))}
				dwb := &Buf{F: randSlice(r, len(dw))}
				be.ConvForward(p, yb, &Buf{F: x}, &Buf{F: w})
				be.ConvBackwardData(p, dxb, &Buf{F: dy}, &Buf{F: w})
				be.ConvBackwardFilter(p, dwb, &Buf{F: x}, &Buf{F: dy})
				compare(t, name+"/y", yb.F, y, ya)
				compare(t, name+"/dx", dxb.F, dx, dxa)
				compare(t, name+"/dw", dwb.F, dw, dwa)
			}
		}
	}
	if asmDirKernels == nil {
		testenv.Skip(t, "no AVX-512: the assembly kernels of the direct convolution were not tested (the Go ones were)")
	}
}

// TestDirectConvSelection: shapes outside the direct path's contract keep
// the other paths, and the kernels measured faster elsewhere are sent there.
func TestDirectConvSelection(t *testing.T) {
	if dirKernels == nil {
		testenv.Skip(t, "no AVX-512: the direct convolution is off")
	}
	for _, tc := range []struct {
		cc                convCase
		fwd, data, filter bool
	}{
		{convCase{9, 16, 7, 7, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, false, false},   // batch 9: 16 lanes would be 1.8×
		{convCase{1, 16, 7, 7, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, false, false},   // batch 1
		{convCase{10, 32, 7, 7, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, true, true, true},     // batch 10: 16 lanes (1.6×)
		{convCase{10, 16, 7, 7, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, false, false},  // batch 10, 3×3 from 16 channels
		{convCase{10, 16, 7, 7, 16, 1, 5, 5, 1, 1, 7, 7, 14, 14, 14, 14}, true, true, true}, // batch 10, 5×5 d7 from 16 channels
		{convCase{16, 1, 7, 7, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, false, false},   // C = 1 (stem)
		{convCase{16, 16, 1, 9, 16, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1}, false, false, false},  // 1-D
		{convCase{16, 16, 7, 7, 16, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, false, false},  // groups
		{convCase{16, 16, 7, 7, 16, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, false, false, false},  // 1×1 stride 1
		{convCase{64, 64, 28, 28, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, true, true, true},   // wide 3×3 on 28×28
		{convCase{64, 64, 28, 28, 128, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0}, true, true, false}, // 1×1 stride 2 (shortcut)
		{convCase{64, 16, 28, 28, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, false, true, true},  // 16 → 64 channels
		{convCase{32, 16, 28, 28, 32, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, true, true, true},   // 16 → 32, stride 2
	} {
		p := tc.cc.params()
		for _, o := range []struct {
			op   convOp
			name string
			want bool
		}{{opForward, "forward", tc.fwd}, {opData, "data", tc.data}, {opFilter, "filter", tc.filter}} {
			if got := directConvOK(&p, o.op); got != o.want {
				t.Errorf("%+v %s: direct path selected %v, want %v", p, o.name, got, o.want)
			}
		}
	}
}

func TestGeneratedConvAsmUpToDate(t *testing.T) {
	var b bytes.Buffer
	gen.Write(&b)
	got, err := os.ReadFile("convdirect_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("convdirect_amd64.s differs from internal/convgen's output: run go generate ./tensor/cpu")
	}
}

// BenchmarkConv2dWRNDilated is a searched WRN-16-1 layer (forward + both
// backward kernels): batch 32, 16 → 16 channels, 28×28, 9×9 dilation 3,
// 'same' padding, on the path ConvForward picks.
func BenchmarkConv2dWRNDilated(b *testing.B) {
	benchConv(b, tensor.ConvParams{N: 32, C: 16, H: 28, W: 28, K: 16, Groups: 1, KH: 9, KW: 9,
		SH: 1, SW: 1, DH: 3, DW: 3, PH: 12, PW: 12, OH: 28, OW: 28})
}

// BenchmarkConv2dWRNDilatedImplicit is the same layer on the implicit GEMM
// (the direct path off).
func BenchmarkConv2dWRNDilatedImplicit(b *testing.B) {
	saved := dirKernels
	dirKernels = nil
	defer func() { dirKernels = saved }()
	BenchmarkConv2dWRNDilated(b)
}

// TestTranspose2D checks the blocked transpose (8×8 blocks, row and column
// tails) and the layout copies built on it against plain
// loops, on sizes around the block edges with offsets and padded strides.
func TestTranspose2D(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, rows := range []int{1, 7, 8, 9, 16, 23, 40} {
		for _, cols := range []int{1, 8, 15, 16, 17, 24, 33, 50} {
			lds, ldd := cols+3, rows+5
			sOff, dOff := 2, 1
			src := randSlice(r, sOff+rows*lds)
			dst := randSlice(r, dOff+cols*ldd)
			want := append([]float32(nil), dst...)
			for i := range rows {
				for j := range cols {
					want[dOff+j*ldd+i] = src[sOff+i*lds+j]
				}
			}
			transpose2D(dst, dOff, ldd, src, sOff, lds, rows, cols)
			for k := range want {
				if dst[k] != want[k] {
					t.Fatalf("rows %d cols %d: dst[%d] = %v, want %v", rows, cols, k, dst[k], want[k])
				}
			}
		}
	}
	be := &Backend{threads: 2}
	for _, s := range []struct{ n, c, hw int }{{16, 16, 49}, {48, 32, 9}, {64, 16, 28}} {
		x := randSlice(r, s.n*s.c*s.hw)
		ld := padLD(s.n)
		ps := pixStride(s.c, ld)
		xt := make([]float32, s.hw*ps)
		be.toPCN(x, s.n, s.c, s.hw, ld, ps, xt)
		ldc := padLD(s.c)
		psc := pixStride(s.n, ldc)
		xp := make([]float32, s.hw*psc)
		be.toPNC(x, s.n, s.c, s.hw, ldc, psc, xp)
		for n := range s.n {
			for c := range s.c {
				for p := range s.hw {
					v := x[(n*s.c+c)*s.hw+p]
					if xt[p*ps+c*ld+n] != v || xp[p*psc+n*ldc+c] != v {
						t.Fatalf("%+v: (n %d, c %d, pixel %d) misplaced", s, n, c, p)
					}
				}
			}
		}
		back := make([]float32, len(x))
		be.fromPCN(xt, s.n, s.c, s.hw, ld, ps, back)
		for i, v := range back {
			if v != x[i] {
				t.Fatalf("%+v: fromPCN(toPCN(x))[%d] = %v, want %v", s, i, v, x[i])
			}
		}
	}
}
