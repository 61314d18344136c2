package cpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// wrnConvs returns the convolutions of a WRN-16-width network on 1×28×28
// inputs at batch n (the MNIST-2D paper cases of dash bench --sweeps
// train): the stem, each block's two convs and the 1×1 shortcuts, with the
// (k, d) of the 13 searchable convs in forward order from kd (3×3, d 1 when
// nil).
func wrnConvs(n, width int, kd [][2]int) []tensor.ConvParams {
	var out []tensor.ConvParams
	i := 0
	conv := func(c, k, hw, stride int, plain bool) int {
		kk, d := 3, 1
		if plain {
			kk = 1
		} else {
			if kd != nil {
				kk, d = kd[i][0], kd[i][1]
			}
			i++
		}
		pad := d * (kk - 1) / 2
		o := (hw+2*pad-d*(kk-1)-1)/stride + 1
		out = append(out, tensor.ConvParams{N: n, C: c, H: hw, W: hw, K: k, Groups: 1, KH: kk, KW: kk,
			SH: stride, SW: stride, DH: d, DW: d, PH: pad, PW: pad, OH: o, OW: o})
		return o
	}
	hw := conv(1, 16, 28, 1, false)
	in := 16
	for s, w := range []int{16 * width, 32 * width, 64 * width} {
		for b := range 2 {
			st := 1
			if s > 0 && b == 0 {
				st = 2
			}
			o := conv(in, w, hw, st, false)
			conv(w, w, o, 1, false)
			if in != w || st != 1 {
				conv(in, w, hw, st, true)
			}
			in, hw = w, o
		}
	}
	return out
}

var wrnSearchedKD = [][2]int{{5, 3}, {3, 7}, {7, 1}, {9, 3}, {3, 1}, {5, 1}, {7, 3}, {3, 3}, {5, 3}, {9, 1}, {3, 7}, {7, 1}, {3, 1}}

// BenchmarkConvWRN times each convolution of the WRN-16-k cases of dash
// bench --sweeps train on MNIST-2D (WRN-16-1 demo at batch 32, WRN-16-4
// paper at batch 64; default and searched kernels) apart: forward,
// backward data and backward filter on the path the backend picks, and on
// the direct path, the implicit GEMM and (3×3 stride-1 layers) Winograd
// F(2×2, 3×3) and F(4×4, 3×3), and the path the backend picks with Winograd off (nowino),
// in CPU milliseconds per op (robust to other load on the
// machine, unlike ns/op). GFLOP/cpu-s counts the direct convolution's
// multiply-adds for every path, Winograd included.
func BenchmarkConvWRN(b *testing.B) {
	for _, kc := range []struct {
		name     string
		n, width int
		kd       [][2]int
	}{{"w4b64-default", 64, 4, nil}, {"w4b64-searched", 64, 4, wrnSearchedKD}, {"w1b32-default", 32, 1, nil}, {"w1b32-searched", 32, 1, wrnSearchedKD}} {
		for li, p := range wrnConvs(kc.n, kc.width, kc.kd) {
			be := New()
			r := rand.New(rand.NewPCG(1, 1))
			x := &Buf{F: randSlice(r, p.N*p.C*p.H*p.W)}
			w := &Buf{F: randSlice(r, p.K*p.C/p.Groups*p.KH*p.KW)}
			y := &Buf{F: make([]float32, p.N*p.K*p.OH*p.OW)}
			dy := &Buf{F: randSlice(r, len(y.F))}
			dx := &Buf{F: make([]float32, len(x.F))}
			dw := &Buf{F: make([]float32, len(w.F))}
			name := fmt.Sprintf("%s/%02d_C%dK%d_%d_k%dd%ds%d", kc.name, li, p.C, p.K, p.H, p.KH, p.DH, p.SH)
			flops := 2 * float64(p.N*p.K*p.OH*p.OW) * float64(p.C/p.Groups*p.KH*p.KW) * validTapFraction(&p)
			part := func(part string, f func()) {
				b.Run(name+"/"+part, func(b *testing.B) {
					c0 := cpuTime()
					for b.Loop() {
						f()
					}
					cpu := float64(cpuTime() - c0)
					b.ReportMetric(cpu/float64(b.N)/1e6, "cpu-ms/op")
					b.ReportMetric(flops*float64(b.N)/cpu, "GFLOP/cpu-s")
				})
			}
			for _, path := range []string{"", "direct", "implicit", "wino2", "wino4", "nowino"} {
				if (strings.HasPrefix(path, "wino") || path == "nowino") && !winogradEligible(&p) {
					continue
				}
				saved, savedF, savedW, savedO, savedA := dirKernels, forceDirect, forceWino, winoOff, forceAlg
				switch path {
				case "direct":
					forceDirect = true
				case "implicit":
					dirKernels, winoOff = nil, true
				case "wino2":
					forceWino, forceAlg = true, wino2
				case "wino4":
					forceWino, forceAlg = true, wino4
				case "nowino":
					winoOff = true
				}
				part(path+"fwd", func() { be.ConvForward(p, y, x, w) })
				part(path+"data", func() { be.ConvBackwardData(p, dx, dy, w) })
				part(path+"filter", func() { be.ConvBackwardFilter(p, dw, x, dy) })
				dirKernels, forceDirect, forceWino, winoOff, forceAlg = saved, savedF, savedW, savedO, savedA
			}
		}
	}
}

// validTapFraction is the fraction of (output pixel, tap) pairs whose input
// lies inside x: the share of an im2col matrix that is not padding.
func validTapFraction(p *tensor.ConvParams) float64 {
	axis := func(k, s, d, pad, in, out int) float64 {
		v := 0
		for t := range k {
			lo, hi := validRange(t*d-pad, s, in, out)
			v += hi - lo
		}
		return float64(v) / float64(k*out)
	}
	return axis(p.KH, p.SH, p.DH, p.PH, p.H, p.OH) * axis(p.KW, p.SW, p.DW, p.PW, p.W, p.OW)
}
