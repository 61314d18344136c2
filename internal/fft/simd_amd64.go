//go:build goexperiment.simd && amd64

package fft

import "simd/archsimd"

// useSIMD enables the AVX2/FMA lane kernels (built only with
// GOEXPERIMENT=simd on amd64). The vector kernels process 4 complex lanes
// (8 floats) at a time; the scalar loops finish any remainder.
var useSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA()

type v8 = archsimd.Float32x8

func ld(s []float32, c int) v8    { return archsimd.LoadFloat32x8Slice(s[c : c+8]) }
func st(v v8, s []float32, c int) { v.StoreSlice(s[c : c+8]) }
func bc(f float32) v8             { return archsimd.BroadcastFloat32x8(f) }

// swapRI swaps the real and imaginary parts of each complex lane.
func swapRI(v v8) v8 { return v.SelectFromPairGrouped(1, 0, 3, 2, v) }

// cmulV multiplies each complex lane of b by the complex constant (wr, wi)
// given as broadcast vectors.
func cmulV(b, wr, wi v8) v8 { return b.MulAddSub(wr, swapRI(b).Mul(wi)) }

func altSign(a, b float32) v8 {
	return archsimd.LoadFloat32x8(&[8]float32{a, b, a, b, a, b, a, b})
}

func vpass2(x0, x1, y0, y1 []float32, n2 int, tw bool, wr, wi float32) int {
	Wr, Wi := bc(wr), bc(wi)
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0, a1 := ld(x0, c), ld(x1, c)
		st(a0.Add(a1), y0, c)
		b := a0.Sub(a1)
		if tw {
			b = cmulV(b, Wr, Wi)
		}
		st(b, y1, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vpass3(x0, x1, x2, y0, y1, y2 []float32, n2 int, ss float32, tw bool, w1r, w1i, w2r, w2i float32) int {
	vc3 := bc(c3)
	sgn := altSign(ss, -ss)
	W1r, W1i, W2r, W2i := bc(w1r), bc(w1i), bc(w2r), bc(w2i)
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0, a1, a2 := ld(x0, c), ld(x1, c), ld(x2, c)
		t := a1.Add(a2)
		d := swapRI(a1.Sub(a2)).Mul(sgn)
		m := t.MulAdd(vc3, a0)
		st(a0.Add(t), y0, c)
		b1 := m.Add(d)
		b2 := m.Sub(d)
		if tw {
			b1 = cmulV(b1, W1r, W1i)
			b2 = cmulV(b2, W2r, W2i)
		}
		st(b1, y1, c)
		st(b2, y2, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vpass4(x0, x1, x2, x3, y0, y1, y2, y3 []float32, n2 int, sn float32, tw bool, w []float32) int {
	sgn := altSign(sn, -sn)
	W1r, W1i, W2r, W2i, W3r, W3i := bc(w[0]), bc(w[1]), bc(w[2]), bc(w[3]), bc(w[4]), bc(w[5])
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0, a1, a2, a3 := ld(x0, c), ld(x1, c), ld(x2, c), ld(x3, c)
		t0 := a0.Add(a2)
		t1 := a0.Sub(a2)
		t2 := a1.Add(a3)
		t3 := swapRI(a1.Sub(a3)).Mul(sgn)
		st(t0.Add(t2), y0, c)
		b1 := t1.Add(t3)
		b2 := t0.Sub(t2)
		b3 := t1.Sub(t3)
		if tw {
			b1 = cmulV(b1, W1r, W1i)
			b2 = cmulV(b2, W2r, W2i)
			b3 = cmulV(b3, W3r, W3i)
		}
		st(b1, y1, c)
		st(b2, y2, c)
		st(b3, y3, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vpass5(x0, x1, x2, x3, x4, y0, y1, y2, y3, y4 []float32, n2 int, q1, q2 float32, tw bool, w []float32) int {
	C1, C2, Q1, Q2 := bc(c51), bc(c52), bc(q1), bc(q2)
	pm := altSign(1, -1)
	W1r, W1i, W2r, W2i := bc(w[0]), bc(w[1]), bc(w[2]), bc(w[3])
	W3r, W3i, W4r, W4i := bc(w[4]), bc(w[5]), bc(w[6]), bc(w[7])
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0 := ld(x0, c)
		a1, a4 := ld(x1, c), ld(x4, c)
		a2, a3 := ld(x2, c), ld(x3, c)
		p1, m1 := a1.Add(a4), a1.Sub(a4)
		p2, m2 := a2.Add(a3), a2.Sub(a3)
		st(a0.Add(p1).Add(p2), y0, c)
		r1 := p2.MulAdd(C2, p1.MulAdd(C1, a0))
		r2 := p2.MulAdd(C1, p1.MulAdd(C2, a0))
		i1 := swapRI(m2.MulAdd(Q2, m1.Mul(Q1))).Mul(pm)
		i2 := swapRI(m1.Mul(Q2).Sub(m2.Mul(Q1))).Mul(pm)
		b1, b4 := r1.Add(i1), r1.Sub(i1)
		b2, b3 := r2.Add(i2), r2.Sub(i2)
		if tw {
			b1 = cmulV(b1, W1r, W1i)
			b2 = cmulV(b2, W2r, W2i)
			b3 = cmulV(b3, W3r, W3i)
			b4 = cmulV(b4, W4r, W4i)
		}
		st(b1, y1, c)
		st(b2, y2, c)
		st(b3, y3, c)
		st(b4, y4, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vpass7(x0, x1, x2, x3, x4, x5, x6, y0, y1, y2, y3, y4, y5, y6 []float32, n2 int, q1, q2, q3 float32, tw bool, w []float32) int {
	C1, C2, C3 := bc(c71), bc(c72), bc(c73)
	Q1, Q2, Q3 := bc(q1), bc(q2), bc(q3)
	pm := altSign(1, -1)
	W := [6][2]v8{}
	if tw {
		for i := range W {
			W[i][0], W[i][1] = bc(w[2*i]), bc(w[2*i+1])
		}
	}
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0 := ld(x0, c)
		a1, a6 := ld(x1, c), ld(x6, c)
		a2, a5 := ld(x2, c), ld(x5, c)
		a3, a4 := ld(x3, c), ld(x4, c)
		p1, m1 := a1.Add(a6), a1.Sub(a6)
		p2, m2 := a2.Add(a5), a2.Sub(a5)
		p3, m3 := a3.Add(a4), a3.Sub(a4)
		st(a0.Add(p1).Add(p2).Add(p3), y0, c)
		r1 := p3.MulAdd(C3, p2.MulAdd(C2, p1.MulAdd(C1, a0)))
		r2 := p3.MulAdd(C1, p2.MulAdd(C3, p1.MulAdd(C2, a0)))
		r3 := p3.MulAdd(C2, p2.MulAdd(C1, p1.MulAdd(C3, a0)))
		i1 := swapRI(m3.MulAdd(Q3, m2.MulAdd(Q2, m1.Mul(Q1)))).Mul(pm)
		i2 := swapRI(m1.Mul(Q2).Sub(m2.Mul(Q3)).Sub(m3.Mul(Q1))).Mul(pm)
		i3 := swapRI(m1.Mul(Q3).Sub(m2.Mul(Q1)).Add(m3.Mul(Q2))).Mul(pm)
		b1, b6 := r1.Add(i1), r1.Sub(i1)
		b2, b5 := r2.Add(i2), r2.Sub(i2)
		b3, b4 := r3.Add(i3), r3.Sub(i3)
		if tw {
			b1 = cmulV(b1, W[0][0], W[0][1])
			b2 = cmulV(b2, W[1][0], W[1][1])
			b3 = cmulV(b3, W[2][0], W[2][1])
			b4 = cmulV(b4, W[3][0], W[3][1])
			b5 = cmulV(b5, W[4][0], W[4][1])
			b6 = cmulV(b6, W[5][0], W[5][1])
		}
		st(b1, y1, c)
		st(b2, y2, c)
		st(b3, y3, c)
		st(b4, y4, c)
		st(b5, y5, c)
		st(b6, y6, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vpass8(x0, x1, x2, x3, x4, x5, x6, x7, y0, y1, y2, y3, y4, y5, y6, y7 []float32, n2 int, sn float32, tw bool, w []float32) int {
	sgn := altSign(sn, -sn)
	H := bc(0.70710678118654752440)
	W := [7][2]v8{}
	if tw {
		for i := range W {
			W[i][0], W[i][1] = bc(w[2*i]), bc(w[2*i+1])
		}
	}
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0, a4 := ld(x0, c), ld(x4, c)
		a2, a6 := ld(x2, c), ld(x6, c)
		t0, t1 := a0.Add(a4), a0.Sub(a4)
		t2 := a2.Add(a6)
		t3 := swapRI(a2.Sub(a6)).Mul(sgn)
		e0, e2 := t0.Add(t2), t0.Sub(t2)
		e1, e3 := t1.Add(t3), t1.Sub(t3)
		a1, a5 := ld(x1, c), ld(x5, c)
		a3, a7 := ld(x3, c), ld(x7, c)
		u0, u1 := a1.Add(a5), a1.Sub(a5)
		u2 := a3.Add(a7)
		u3 := swapRI(a3.Sub(a7)).Mul(sgn)
		o0, o2 := u0.Add(u2), u0.Sub(u2)
		o1, o3 := u1.Add(u3), u1.Sub(u3)
		o1 = o1.Add(swapRI(o1).Mul(sgn)).Mul(H)
		o2 = swapRI(o2).Mul(sgn)
		o3 = swapRI(o3).Mul(sgn).Sub(o3).Mul(H)
		st(e0.Add(o0), y0, c)
		b4 := e0.Sub(o0)
		b1, b5 := e1.Add(o1), e1.Sub(o1)
		b2, b6 := e2.Add(o2), e2.Sub(o2)
		b3, b7 := e3.Add(o3), e3.Sub(o3)
		if tw {
			b1 = cmulV(b1, W[0][0], W[0][1])
			b2 = cmulV(b2, W[1][0], W[1][1])
			b3 = cmulV(b3, W[2][0], W[2][1])
			b4 = cmulV(b4, W[3][0], W[3][1])
			b5 = cmulV(b5, W[4][0], W[4][1])
			b6 = cmulV(b6, W[5][0], W[5][1])
			b7 = cmulV(b7, W[6][0], W[6][1])
		}
		st(b1, y1, c)
		st(b2, y2, c)
		st(b3, y3, c)
		st(b4, y4, c)
		st(b5, y5, c)
		st(b6, y6, c)
		st(b7, y7, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

// vcmulConst multiplies the complex values in row by (kr, ki).
func vcmulConst(row []float32, kr, ki float32) int {
	Kr, Ki := bc(kr), bc(ki)
	c := 0
	for ; c+8 <= len(row); c += 8 {
		st(cmulV(ld(row, c), Kr, Ki), row, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

// vaddCmul computes ys = (a0 + us) * (wr, wi).
func vaddCmul(ys, a0, us []float32, n2 int, wr, wi float32) int {
	Wr, Wi := bc(wr), bc(wi)
	c := 0
	for ; c+8 <= n2; c += 8 {
		st(cmulV(ld(a0, c).Add(ld(us, c)), Wr, Wi), ys, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

// vrealFwd is the vector part of the real-FFT post-processing for the lane
// rows k and h-k (see realPlan.forwardMany).
func vrealFwd(zk, zj []float32, wr, wi float32) int {
	half := bc(0.5)
	conj := altSign(1, -1)
	Wr, Wi := bc(wr), bc(wi)
	c := 0
	for ; c+8 <= len(zk) && c+8 <= len(zj); c += 8 {
		a := ld(zk, c)
		b := ld(zj, c).Mul(conj)
		e := a.Add(b).Mul(half)
		// O = -i/2 (a - b): (r, i) -> (i/2, -r/2)
		o := swapRI(a.Sub(b)).Mul(conj).Mul(half)
		t := cmulV(o, Wr, Wi)
		st(e.Add(t), zk, c)
		st(e.Sub(t).Mul(conj), zj, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

// vrealInv is the vector part of the inverse real-FFT pre-processing.
func vrealInv(ak, aj []float32, f, wr, wi float32) int {
	F := bc(f)
	conj := altSign(1, -1)
	Wr, Wi := bc(wr), bc(wi)
	c := 0
	for ; c+8 <= len(ak) && c+8 <= len(aj); c += 8 {
		a := ld(ak, c)
		b := ld(aj, c).Mul(conj)
		e := a.Add(b).Mul(F)
		o := cmulV(a.Sub(b).Mul(F), Wr, Wi)
		// i*o = (-oi, or)
		io := swapRI(o).Mul(altSign(-1, 1))
		st(e.Add(io), ak, c)
		// conj(e) + i*conj(o) = conj(e - i*o)... = (er + oi, or - ei)
		st(e.Sub(io).Mul(conj), aj, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}

func vbf3(x0, x1, x2, C3, sgn v8) (v8, v8, v8) {
	t := x1.Add(x2)
	d := swapRI(x1.Sub(x2)).Mul(sgn)
	m := t.MulAdd(C3, x0)
	return x0.Add(t), m.Add(d), m.Sub(d)
}

func vpass6(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5 []float32, n2 int, ss float32, tw bool, w []float32) int {
	C3 := bc(c3)
	sgn := altSign(ss, -ss)
	var W [5][2]v8
	if tw {
		for i := range W {
			W[i][0], W[i][1] = bc(w[2*i]), bc(w[2*i+1])
		}
	}
	c := 0
	for ; c+8 <= n2; c += 8 {
		a0, a3 := ld(x0, c), ld(x3, c)
		a2, a5 := ld(x2, c), ld(x5, c)
		a4, a1 := ld(x4, c), ld(x1, c)
		b0, b4, b2 := vbf3(a0.Add(a3), a2.Add(a5), a4.Add(a1), C3, sgn)
		b3, b1, b5 := vbf3(a0.Sub(a3), a2.Sub(a5), a4.Sub(a1), C3, sgn)
		if tw {
			b1 = cmulV(b1, W[0][0], W[0][1])
			b2 = cmulV(b2, W[1][0], W[1][1])
			b3 = cmulV(b3, W[2][0], W[2][1])
			b4 = cmulV(b4, W[3][0], W[3][1])
			b5 = cmulV(b5, W[4][0], W[4][1])
		}
		st(b0, y0, c)
		st(b1, y1, c)
		st(b2, y2, c)
		st(b3, y3, c)
		st(b4, y4, c)
		st(b5, y5, c)
	}
	archsimd.ClearAVXUpperBits()
	return c
}
