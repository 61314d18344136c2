package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// convCase builds ConvParams with explicit padding before/after each axis.
type convCase struct {
	n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, phb, pha, pwb, pwa int
}

func (cc convCase) params() tensor.ConvParams {
	oh := (cc.h+cc.phb+cc.pha-cc.dh*(cc.kh-1)-1)/cc.sh + 1
	ow := (cc.w+cc.pwb+cc.pwa-cc.dw*(cc.kw-1)-1)/cc.sw + 1
	return tensor.ConvParams{N: cc.n, C: cc.c, H: cc.h, W: cc.w, K: cc.k, Groups: cc.g,
		KH: cc.kh, KW: cc.kw, SH: cc.sh, SW: cc.sw, DH: cc.dh, DW: cc.dw, PH: cc.phb, PW: cc.pwb, OH: oh, OW: ow}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// naiveConv computes, in float64, y = conv(x, w), dx and dw (from dy) with
// the straightforward seven-deep loop, plus Σ|terms| for each output (error
// scale).
func naiveConv(p tensor.ConvParams, x, w, dy []float32) (y, dx, dw, ya, dxa, dwa []float64) {
	y = make([]float64, p.N*p.K*p.OH*p.OW)
	ya = make([]float64, len(y))
	dx = make([]float64, p.N*p.C*p.H*p.W)
	dxa = make([]float64, len(dx))
	cg, kg := p.C/p.Groups, p.K/p.Groups
	dw = make([]float64, p.K*cg*p.KH*p.KW)
	dwa = make([]float64, len(dw))
	for n := 0; n < p.N; n++ {
		for k := 0; k < p.K; k++ {
			g := k / kg
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					yi := ((n*p.K+k)*p.OH+oh)*p.OW + ow
					for ci := 0; ci < cg; ci++ {
						c := g*cg + ci
						for kh := 0; kh < p.KH; kh++ {
							ih := oh*p.SH + kh*p.DH - p.PH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := ow*p.SW + kw*p.DW - p.PW
								if iw < 0 || iw >= p.W {
									continue
								}
								xi := ((n*p.C+c)*p.H+ih)*p.W + iw
								wi := ((k*cg+ci)*p.KH+kh)*p.KW + kw
								xv, wv, gv := float64(x[xi]), float64(w[wi]), float64(dy[yi])
								y[yi] += xv * wv
								ya[yi] += math.Abs(xv * wv)
								dx[xi] += gv * wv
								dxa[xi] += math.Abs(gv * wv)
								dw[wi] += gv * xv
								dwa[wi] += math.Abs(gv * xv)
							}
						}
					}
				}
			}
		}
	}
	return
}

func compare(t *testing.T, what string, got []float32, want, scale []float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		tol := 1e-5*scale[i] + 1e-6
		if d := math.Abs(float64(got[i]) - want[i]); d > tol || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v (tol %.3g)", what, i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(want))
	}
}

var convCases = []convCase{
	// n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, phb, pha, pwb, pwa
	{1, 1, 1, 7, 1, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1},         // 1-D, tiny
	{2, 3, 1, 13, 5, 1, 1, 4, 1, 1, 1, 1, 0, 0, 1, 2},        // 1-D 'same' even kernel
	{3, 4, 1, 17, 6, 2, 1, 5, 1, 2, 1, 3, 0, 0, 12, 0},       // 1-D causal, groups 2, stride 2
	{1, 5, 1, 29, 7, 1, 1, 3, 1, 3, 1, 5, 0, 0, 4, 6},        // 1-D stride 3 dil 5
	{2, 6, 1, 31, 6, 6, 1, 7, 1, 1, 1, 2, 0, 0, 6, 6},        // 1-D depthwise dil 2
	{3, 8, 1, 23, 8, 8, 1, 4, 1, 2, 1, 3, 0, 0, 5, 4},        // 1-D depthwise stride 2 even k
	{1, 7, 5, 7, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},         // 2-D basic, odd sizes
	{2, 4, 11, 13, 6, 2, 3, 2, 2, 3, 2, 1, 3, 2, 0, 1},       // groups 2, stride 2x3, dil 2x1
	{2, 3, 9, 10, 5, 1, 4, 4, 1, 1, 3, 4, 5, 4, 6, 6},        // 'same' even kernel, dilation 3/4
	{1, 2, 7, 7, 3, 1, 2, 3, 3, 2, 5, 2, 4, 4, 5, 5},         // padding bigger than kernel/2
	{3, 5, 6, 8, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},         // depthwise 2-D
	{2, 6, 9, 7, 6, 6, 5, 3, 2, 2, 2, 3, 4, 3, 2, 2},         // depthwise strided dilated
	{2, 3, 8, 9, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},         // depthwise multiplier 2 (im2col path)
	{2, 6, 5, 7, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},         // pointwise
	{2, 6, 5, 7, 4, 2, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},         // strided 1x1, groups 2
	{1, 16, 13, 11, 12, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},     // batch 1, 4 groups
	{5, 3, 2, 3, 4, 1, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0},         // kernel = input size-ish
	{1, 2, 3, 3, 2, 1, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2},         // pad larger than kernel/2 (full conv)
	{7, 9, 1, 41, 10, 1, 1, 11, 1, 1, 1, 4, 0, 0, 20, 20},    // 1-D 'same' d4, more batch
	{2, 3, 1, 5, 2, 1, 1, 3, 1, 1, 1, 2, 0, 0, 0, 0},         // output of length 1
	{3, 2, 4, 4, 3, 1, 2, 2, 3, 3, 1, 1, 0, 1, 0, 1},         // asymmetric after-padding
	{2, 4, 1, 19, 4, 1, 1, 5, 1, 1, 1, 3, 0, 0, 1, 14},       // heavily asymmetric
	{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},         // 1×1×1
	{2, 10, 1, 37, 5, 5, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1},       // groups 5
	{4, 1, 1, 9, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},         // C=1 pointwise
	{2, 2, 6, 5, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},         // depthwise C=2
	{2, 3, 5, 5, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},         // stride 2 'pytorch padding=1'
	{1, 4, 12, 1, 4, 4, 5, 1, 2, 1, 3, 1, 6, 6, 0, 0},        // vertical-only kernel
	{2, 5, 3, 30, 3, 1, 1, 7, 1, 1, 1, 5, 0, 0, 15, 15},      // H>1 with 1xk kernel
	{1, 3, 3, 3, 2, 1, 2, 2, 1, 1, 1, 1, 1, 0, 1, 0},         // top-left only
	{2, 64, 1, 50, 64, 1, 1, 11, 1, 1, 1, 16, 0, 0, 80, 80},  // benchmark-like d16, short
	{2, 3, 5, 6, 4, 1, 2, 3, 1, 1, 1, 1, 3, 2, 4, 3},         // stride 1, padding > d(k-1)
	{3, 2, 1, 8, 3, 1, 1, 3, 1, 1, 1, 2, 0, 0, 6, 1},         // 1-D padding > d(k-1) before
	{1, 64, 1, 40, 64, 64, 1, 11, 1, 1, 1, 16, 0, 0, 80, 80}, // depthwise, kernel wider than input
}

func TestConvKernelsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 2, 3} {
		be := &Backend{threads: threads}
		for i, cc := range convCases {
			p := cc.params()
			name := fmt.Sprintf("t%d/case%d_%+v", threads, i, p)
			x := randSlice(r, p.N*p.C*p.H*p.W)
			w := randSlice(r, p.K*p.C/p.Groups*p.KH*p.KW)
			dy := randSlice(r, p.N*p.K*p.OH*p.OW)
			y, dx, dw, ya, dxa, dwa := naiveConv(p, x, w, dy)
			// outputs start dirty to check that kernels overwrite.
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

func TestConvKernelBadParams(t *testing.T) {
	be := New()
	p := convCase{1, 4, 1, 8, 4, 3, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0}.params()
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic for C not divisible by Groups")
		}
	}()
	be.ConvForward(p, &Buf{F: make([]float32, 100)}, &Buf{F: make([]float32, 100)}, &Buf{F: make([]float32, 100)})
}

type poolCase struct{ n, c, h, w, kh, kw, sh, sw, ph, pw int }

func (pc poolCase) params() tensor.PoolParams {
	return tensor.PoolParams{N: pc.n, C: pc.c, H: pc.h, W: pc.w, KH: pc.kh, KW: pc.kw, SH: pc.sh, SW: pc.sw,
		PH: pc.ph, PW: pc.pw, OH: (pc.h+2*pc.ph-pc.kh)/pc.sh + 1, OW: (pc.w+2*pc.pw-pc.kw)/pc.sw + 1}
}

var poolCases = []poolCase{
	{1, 1, 1, 7, 1, 2, 1, 2, 0, 0},
	{2, 3, 1, 13, 1, 3, 1, 2, 0, 1},
	{3, 2, 7, 9, 3, 3, 2, 2, 1, 1},
	{1, 4, 11, 5, 2, 3, 3, 1, 1, 1},
	{2, 5, 8, 8, 2, 2, 2, 2, 0, 0},
	{1, 3, 5, 7, 5, 7, 1, 1, 2, 3},
	{2, 2, 6, 6, 4, 4, 3, 3, 2, 2},
	{3, 1, 1, 31, 1, 5, 1, 3, 0, 2},
}

func TestPoolKernelsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, threads := range []int{1, 2} {
		be := &Backend{threads: threads}
		for i, pc := range poolCases {
			p := pc.params()
			name := fmt.Sprintf("t%d/case%d_%+v", threads, i, p)
			x := randSlice(r, p.N*p.C*p.H*p.W)
			dy := randSlice(r, p.N*p.C*p.OH*p.OW)
			wantMax := make([]float64, len(dy))
			wantIdx := make([]int32, len(dy))
			wantAvg := make([]float64, len(dy))
			dxMax := make([]float64, len(x))
			dxAvg := make([]float64, len(x))
			scaleY := make([]float64, len(dy))
			scaleX := make([]float64, len(x))
			for pl := 0; pl < p.N*p.C; pl++ {
				for oh := 0; oh < p.OH; oh++ {
					for ow := 0; ow < p.OW; ow++ {
						o := pl*p.OH*p.OW + oh*p.OW + ow
						best, bi := math.Inf(-1), -1
						var s, sa float64
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								ih, iw := oh*p.SH+kh-p.PH, ow*p.SW+kw-p.PW
								if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
									continue
								}
								v := float64(x[pl*p.H*p.W+ih*p.W+iw])
								if v > best {
									best, bi = v, ih*p.W+iw
								}
								s += v
								sa += math.Abs(v)
								dxAvg[pl*p.H*p.W+ih*p.W+iw] += float64(dy[o]) / float64(p.KH*p.KW)
								scaleX[pl*p.H*p.W+ih*p.W+iw] += math.Abs(float64(dy[o]))
							}
						}
						wantMax[o], wantIdx[o] = best, int32(bi)
						wantAvg[o] = s / float64(p.KH*p.KW)
						scaleY[o] = sa + math.Abs(best)
						dxMax[pl*p.H*p.W+bi] += float64(dy[o])
					}
				}
			}
			yb := &Buf{F: randSlice(r, len(dy))}
			ib := &Buf{F: randSlice(r, len(dy))}
			be.MaxPool(p, yb, ib, &Buf{F: x})
			compare(t, name+"/max", yb.F, wantMax, scaleY)
			for o, v := range ib.I32() {
				if v != wantIdx[o] {
					t.Fatalf("%s/argmax[%d] = %d, want %d", name, o, v, wantIdx[o])
				}
			}
			dxb := &Buf{F: randSlice(r, len(x))}
			be.MaxPoolBackward(p, dxb, &Buf{F: dy}, ib)
			compare(t, name+"/maxback", dxb.F, dxMax, scaleX)
			be.AvgPool(p, yb, &Buf{F: x})
			compare(t, name+"/avg", yb.F, wantAvg, scaleY)
			be.AvgPoolBackward(p, dxb, &Buf{F: dy})
			compare(t, name+"/avgback", dxb.F, dxAvg, scaleX)
		}
	}
}

func TestMaxPoolPaddingNeverWins(t *testing.T) {
	// all inputs negative: a zero from padding must never be the max.
	p := poolCase{1, 1, 3, 3, 3, 3, 1, 1, 1, 1}.params()
	x := []float32{-5, -4, -3, -2, -1, -6, -7, -8, -9}
	y := &Buf{F: make([]float32, 9)}
	idx := &Buf{F: make([]float32, 9)}
	New().MaxPool(p, y, idx, &Buf{F: x})
	if y.F[0] != -1 || idx.I32()[0] != 4 {
		t.Fatalf("corner window: got %v at %d, want -1 at 4", y.F[0], idx.I32()[0])
	}
	for i, v := range y.F {
		if v >= 0 {
			t.Fatalf("y[%d] = %v: padding won", i, v)
		}
	}
}
