package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvFilterGradientDeterministic runs the filter gradients whose
// chunks are summed by several threads (direct and Winograd paths) many
// times on more threads than cores, so the threads finish in varying
// order, and requires bit-identical results: a run repeated with the same
// seed must give the same network.
func TestConvFilterGradientDeterministic(t *testing.T) {
	savedD, savedF, savedO := forceDirect, forceWino, winoOff
	defer func() { forceDirect, forceWino, winoOff = savedD, savedF, savedO }()
	cases := []struct {
		name  string
		wino  bool
		setup func()
		cc    convCase
	}{
		// n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, phb, pha, pwb, pwa
		{"direct 5×5 d2", false, func() { forceDirect, forceWino, winoOff = true, false, true }, convCase{10, 16, 28, 28, 16, 1, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4}},
		{"winograd 3×3", true, func() { forceDirect, forceWino, winoOff = false, true, false }, convCase{8, 16, 28, 28, 16, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range cases {
		c.setup()
		p := c.cc.params()
		if c.wino && !winogradOK(&p, opFilter) {
			t.Logf("%s: the Winograd path is off on this CPU; the filter gradient goes elsewhere", c.name)
		}
		x := randSlice(r, p.N*p.C*p.H*p.W)
		dy := randSlice(r, p.N*p.K*p.OH*p.OW)
		be := &Backend{threads: 6}
		var first []float32
		for rep := range 30 {
			dw := &Buf{F: make([]float32, p.K*p.C*p.KH*p.KW)}
			be.ConvBackwardFilter(p, dw, &Buf{F: x}, &Buf{F: dy})
			if rep == 0 {
				first = dw.F
				continue
			}
			for i, v := range dw.F {
				if math.Float32bits(v) != math.Float32bits(first[i]) {
					t.Fatalf("%s: repetition %d differs at %d: %v vs %v", c.name, rep, i, v, first[i])
				}
			}
		}
	}
}
