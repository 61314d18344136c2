package fft

import "math"

// geom describes the index geometry of one Stockham pass, in complex
// units. For pass index p < m, lane group qq < qn and lane c < L, input k
// of the butterfly is at off + qq*qs + c + S*(p + k*m) and output j goes to
// off + qq*qs + c + S*(r*p + j).
type geom struct {
	m, S, qn, qs, L, off int
}

var (
	c3  = float32(-0.5)
	s3  = float32(math.Sqrt(3) / 2)
	c51 = float32(math.Cos(2 * math.Pi / 5))
	c52 = float32(math.Cos(4 * math.Pi / 5))
	s51 = float32(math.Sin(2 * math.Pi / 5))
	s52 = float32(math.Sin(4 * math.Pi / 5))
	c71 = float32(math.Cos(2 * math.Pi / 7))
	c72 = float32(math.Cos(4 * math.Pi / 7))
	c73 = float32(math.Cos(6 * math.Pi / 7))
	s71 = float32(math.Sin(2 * math.Pi / 7))
	s72 = float32(math.Sin(4 * math.Pi / 7))
	s73 = float32(math.Sin(6 * math.Pi / 7))
)

// pass2 is one radix-2 Stockham pass: butterflies over the lanes of each
// block, output 1 multiplied by the twiddle tw[p] (skipped for p == 0). The
// radix-2 butterfly is the same in both directions.
func pass2(y, x, tw []float32, g geom) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	if S == 1 {
		x0 := x[:2*m]
		x1 := x[2*m : 4*m]
		y = y[:4*m]
		tw = tw[:2*m]
		for p := 0; 2*p+1 < len(x0); p++ {
			i := 2 * p
			a0r, a0i := x0[i], x0[i+1]
			a1r, a1i := x1[i], x1[i+1]
			br, bi := a0r-a1r, a0i-a1i
			wr, wi := tw[i], tw[i+1]
			o := 4 * p
			y[o], y[o+1] = a0r+a1r, a0i+a1i
			y[o+2], y[o+3] = br*wr-bi*wi, br*wi+bi*wr
		}
		return
	}
	for p := 0; p < m; p++ {
		wr, wi := tw[2*p], tw[2*p+1]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 2*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass2(x0, x1, y0, y1, n2, p != 0, wr, wi)
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a0r, a0i := x0[c], x0[c+1]
					a1r, a1i := x1[c], x1[c+1]
					y0[c], y0[c+1] = a0r+a1r, a0i+a1i
					y1[c], y1[c+1] = a0r-a1r, a0i-a1i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a0r, a0i := x0[c], x0[c+1]
				a1r, a1i := x1[c], x1[c+1]
				br, bi := a0r-a1r, a0i-a1i
				y0[c], y0[c+1] = a0r+a1r, a0i+a1i
				y1[c], y1[c+1] = br*wr-bi*wi, br*wi+bi*wr
			}
		}
	}
}

// pass3 is one radix-3 Stockham pass: butterflies over the lanes
// of each block, output j multiplied by the twiddle tw[p][j-1] (skipped for
// p == 0). sn is +1 forward, -1 inverse.
func pass3(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	ss := sn * s3
	for p := 0; p < m; p++ {
		t := tw[4*p : 4*p+4]
		w1r, w1i, w2r, w2i := t[0], t[1], t[2], t[3]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 3*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass3(x0, x1, x2, y0, y1, y2, n2, ss, p != 0, w1r, w1i, w2r, w2i)
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a0r, a0i := x0[c], x0[c+1]
					a1r, a1i := x1[c], x1[c+1]
					a2r, a2i := x2[c], x2[c+1]
					tr, ti := a1r+a2r, a1i+a2i
					dr, di := (a1r-a2r)*ss, (a1i-a2i)*ss
					mr, mi := a0r+c3*tr, a0i+c3*ti
					y0[c], y0[c+1] = a0r+tr, a0i+ti
					b1r, b1i := mr+di, mi-dr
					b2r, b2i := mr-di, mi+dr
					y1[c], y1[c+1] = b1r, b1i
					y2[c], y2[c+1] = b2r, b2i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a0r, a0i := x0[c], x0[c+1]
				a1r, a1i := x1[c], x1[c+1]
				a2r, a2i := x2[c], x2[c+1]
				tr, ti := a1r+a2r, a1i+a2i
				dr, di := (a1r-a2r)*ss, (a1i-a2i)*ss
				mr, mi := a0r+c3*tr, a0i+c3*ti
				y0[c], y0[c+1] = a0r+tr, a0i+ti
				b1r, b1i := mr+di, mi-dr
				b2r, b2i := mr-di, mi+dr
				y1[c], y1[c+1] = b1r*w1r-b1i*w1i, b1r*w1i+b1i*w1r
				y2[c], y2[c+1] = b2r*w2r-b2i*w2i, b2r*w2i+b2i*w2r
			}
		}
	}
}

// pass4 is one radix-4 Stockham pass: butterflies over the lanes
// of each block, output j multiplied by the twiddle tw[p][j-1] (skipped for
// p == 0). sn is +1 forward, -1 inverse.
func pass4(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	if S == 1 {
		x0 := x[:2*m]
		x1 := x[2*m : 4*m]
		x2 := x[4*m : 6*m]
		x3 := x[6*m : 8*m]
		y = y[:8*m]
		tw = tw[:6*m]
		for p := 0; 2*p+1 < len(x0); p++ {
			i := 2 * p
			a0r, a0i := x0[i], x0[i+1]
			a1r, a1i := x1[i], x1[i+1]
			a2r, a2i := x2[i], x2[i+1]
			a3r, a3i := x3[i], x3[i+1]
			t0r, t0i := a0r+a2r, a0i+a2i
			t1r, t1i := a0r-a2r, a0i-a2i
			t2r, t2i := a1r+a3r, a1i+a3i
			// (a1-a3) * (-i*sn)
			t3r, t3i := (a1i-a3i)*sn, (a3r-a1r)*sn
			t := tw[3*i : 3*i+6]
			o := y[8*p : 8*p+8]
			o[0], o[1] = t0r+t2r, t0i+t2i
			b1r, b1i := t1r+t3r, t1i+t3i
			b2r, b2i := t0r-t2r, t0i-t2i
			b3r, b3i := t1r-t3r, t1i-t3i
			o[2], o[3] = b1r*t[0]-b1i*t[1], b1r*t[1]+b1i*t[0]
			o[4], o[5] = b2r*t[2]-b2i*t[3], b2r*t[3]+b2i*t[2]
			o[6], o[7] = b3r*t[4]-b3i*t[5], b3r*t[5]+b3i*t[4]
		}
		return
	}
	for p := 0; p < m; p++ {
		t := tw[6*p : 6*p+6]
		w1r, w1i, w2r, w2i, w3r, w3i := t[0], t[1], t[2], t[3], t[4], t[5]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 4*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass4(x0, x1, x2, x3, y0, y1, y2, y3, n2, sn, p != 0, t)
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a0r, a0i := x0[c], x0[c+1]
					a1r, a1i := x1[c], x1[c+1]
					a2r, a2i := x2[c], x2[c+1]
					a3r, a3i := x3[c], x3[c+1]
					t0r, t0i := a0r+a2r, a0i+a2i
					t1r, t1i := a0r-a2r, a0i-a2i
					t2r, t2i := a1r+a3r, a1i+a3i
					t3r, t3i := (a1i-a3i)*sn, (a3r-a1r)*sn
					y0[c], y0[c+1] = t0r+t2r, t0i+t2i
					y1[c], y1[c+1] = t1r+t3r, t1i+t3i
					y2[c], y2[c+1] = t0r-t2r, t0i-t2i
					y3[c], y3[c+1] = t1r-t3r, t1i-t3i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a0r, a0i := x0[c], x0[c+1]
				a1r, a1i := x1[c], x1[c+1]
				a2r, a2i := x2[c], x2[c+1]
				a3r, a3i := x3[c], x3[c+1]
				t0r, t0i := a0r+a2r, a0i+a2i
				t1r, t1i := a0r-a2r, a0i-a2i
				t2r, t2i := a1r+a3r, a1i+a3i
				t3r, t3i := (a1i-a3i)*sn, (a3r-a1r)*sn
				y0[c], y0[c+1] = t0r+t2r, t0i+t2i
				b1r, b1i := t1r+t3r, t1i+t3i
				b2r, b2i := t0r-t2r, t0i-t2i
				b3r, b3i := t1r-t3r, t1i-t3i
				y1[c], y1[c+1] = b1r*w1r-b1i*w1i, b1r*w1i+b1i*w1r
				y2[c], y2[c+1] = b2r*w2r-b2i*w2i, b2r*w2i+b2i*w2r
				y3[c], y3[c+1] = b3r*w3r-b3i*w3i, b3r*w3i+b3i*w3r
			}
		}
	}
}

// pass8 is one radix-8 Stockham pass (as two radix-4 halves): butterflies over the lanes
// of each block, output j multiplied by the twiddle tw[p][j-1] (skipped for
// p == 0). sn is +1 forward, -1 inverse.
func pass8(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	const h = 0.70710678118654752440
	if S == 1 {
		x0 := x[:2*m]
		x1 := x[2*m : 4*m]
		x2 := x[4*m : 6*m]
		x3 := x[6*m : 8*m]
		x4 := x[8*m : 10*m]
		x5 := x[10*m : 12*m]
		x6 := x[12*m : 14*m]
		x7 := x[14*m : 16*m]
		for p := 0; p < m; p++ {
			c := 2 * p
			t := tw[14*p : 14*p+14]
			o := y[16*p : 16*p+16]
			// even DFT4 of a0, a2, a4, a6
			t0r, t0i := x0[c]+x4[c], x0[c+1]+x4[c+1]
			t1r, t1i := x0[c]-x4[c], x0[c+1]-x4[c+1]
			t2r, t2i := x2[c]+x6[c], x2[c+1]+x6[c+1]
			t3r, t3i := (x2[c+1]-x6[c+1])*sn, (x6[c]-x2[c])*sn
			e0r, e0i := t0r+t2r, t0i+t2i
			e1r, e1i := t1r+t3r, t1i+t3i
			e2r, e2i := t0r-t2r, t0i-t2i
			e3r, e3i := t1r-t3r, t1i-t3i
			// odd DFT4 of a1, a3, a5, a7
			u0r, u0i := x1[c]+x5[c], x1[c+1]+x5[c+1]
			u1r, u1i := x1[c]-x5[c], x1[c+1]-x5[c+1]
			u2r, u2i := x3[c]+x7[c], x3[c+1]+x7[c+1]
			u3r, u3i := (x3[c+1]-x7[c+1])*sn, (x7[c]-x3[c])*sn
			o0r, o0i := u0r+u2r, u0i+u2i
			o1r, o1i := u1r+u3r, u1i+u3i
			o2r, o2i := u0r-u2r, u0i-u2i
			o3r, o3i := u1r-u3r, u1i-u3i
			// multiply odd outputs by W8^k
			o1r, o1i = (o1r+sn*o1i)*h, (o1i-sn*o1r)*h
			o2r, o2i = sn*o2i, -sn*o2r
			o3r, o3i = (sn*o3i-o3r)*h, (-o3i-sn*o3r)*h
			b0r, b0i := e0r+o0r, e0i+o0i
			b4r, b4i := e0r-o0r, e0i-o0i
			b1r, b1i := e1r+o1r, e1i+o1i
			b5r, b5i := e1r-o1r, e1i-o1i
			b2r, b2i := e2r+o2r, e2i+o2i
			b6r, b6i := e2r-o2r, e2i-o2i
			b3r, b3i := e3r+o3r, e3i+o3i
			b7r, b7i := e3r-o3r, e3i-o3i
			o[0], o[1] = b0r, b0i
			o[2], o[3] = b1r*t[0]-b1i*t[1], b1r*t[1]+b1i*t[0]
			o[4], o[5] = b2r*t[2]-b2i*t[3], b2r*t[3]+b2i*t[2]
			o[6], o[7] = b3r*t[4]-b3i*t[5], b3r*t[5]+b3i*t[4]
			o[8], o[9] = b4r*t[6]-b4i*t[7], b4r*t[7]+b4i*t[6]
			o[10], o[11] = b5r*t[8]-b5i*t[9], b5r*t[9]+b5i*t[8]
			o[12], o[13] = b6r*t[10]-b6i*t[11], b6r*t[11]+b6i*t[10]
			o[14], o[15] = b7r*t[12]-b7i*t[13], b7r*t[13]+b7i*t[12]
		}
		return
	}
	var w [14]float32
	for p := 0; p < m; p++ {
		copy(w[:], tw[14*p:14*p+14])
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 8*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			x4 := x[ib+4*ks:][:n2]
			x5 := x[ib+5*ks:][:n2]
			x6 := x[ib+6*ks:][:n2]
			x7 := x[ib+7*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			y4 := y[ob+8*S:][:n2]
			y5 := y[ob+10*S:][:n2]
			y6 := y[ob+12*S:][:n2]
			y7 := y[ob+14*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass8(x0, x1, x2, x3, x4, x5, x6, x7, y0, y1, y2, y3, y4, y5, y6, y7, n2, sn, p != 0, w[:])
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					// even DFT4 of a0, a2, a4, a6
					t0r, t0i := x0[c]+x4[c], x0[c+1]+x4[c+1]
					t1r, t1i := x0[c]-x4[c], x0[c+1]-x4[c+1]
					t2r, t2i := x2[c]+x6[c], x2[c+1]+x6[c+1]
					t3r, t3i := (x2[c+1]-x6[c+1])*sn, (x6[c]-x2[c])*sn
					e0r, e0i := t0r+t2r, t0i+t2i
					e1r, e1i := t1r+t3r, t1i+t3i
					e2r, e2i := t0r-t2r, t0i-t2i
					e3r, e3i := t1r-t3r, t1i-t3i
					// odd DFT4 of a1, a3, a5, a7
					u0r, u0i := x1[c]+x5[c], x1[c+1]+x5[c+1]
					u1r, u1i := x1[c]-x5[c], x1[c+1]-x5[c+1]
					u2r, u2i := x3[c]+x7[c], x3[c+1]+x7[c+1]
					u3r, u3i := (x3[c+1]-x7[c+1])*sn, (x7[c]-x3[c])*sn
					o0r, o0i := u0r+u2r, u0i+u2i
					o1r, o1i := u1r+u3r, u1i+u3i
					o2r, o2i := u0r-u2r, u0i-u2i
					o3r, o3i := u1r-u3r, u1i-u3i
					// multiply odd outputs by W8^k
					o1r, o1i = (o1r+sn*o1i)*h, (o1i-sn*o1r)*h
					o2r, o2i = sn*o2i, -sn*o2r
					o3r, o3i = (sn*o3i-o3r)*h, (-o3i-sn*o3r)*h
					b0r, b0i := e0r+o0r, e0i+o0i
					b4r, b4i := e0r-o0r, e0i-o0i
					b1r, b1i := e1r+o1r, e1i+o1i
					b5r, b5i := e1r-o1r, e1i-o1i
					b2r, b2i := e2r+o2r, e2i+o2i
					b6r, b6i := e2r-o2r, e2i-o2i
					b3r, b3i := e3r+o3r, e3i+o3i
					b7r, b7i := e3r-o3r, e3i-o3i
					y0[c], y0[c+1] = b0r, b0i
					y1[c], y1[c+1] = b1r, b1i
					y2[c], y2[c+1] = b2r, b2i
					y3[c], y3[c+1] = b3r, b3i
					y4[c], y4[c+1] = b4r, b4i
					y5[c], y5[c+1] = b5r, b5i
					y6[c], y6[c+1] = b6r, b6i
					y7[c], y7[c+1] = b7r, b7i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				// even DFT4 of a0, a2, a4, a6
				t0r, t0i := x0[c]+x4[c], x0[c+1]+x4[c+1]
				t1r, t1i := x0[c]-x4[c], x0[c+1]-x4[c+1]
				t2r, t2i := x2[c]+x6[c], x2[c+1]+x6[c+1]
				t3r, t3i := (x2[c+1]-x6[c+1])*sn, (x6[c]-x2[c])*sn
				e0r, e0i := t0r+t2r, t0i+t2i
				e1r, e1i := t1r+t3r, t1i+t3i
				e2r, e2i := t0r-t2r, t0i-t2i
				e3r, e3i := t1r-t3r, t1i-t3i
				// odd DFT4 of a1, a3, a5, a7
				u0r, u0i := x1[c]+x5[c], x1[c+1]+x5[c+1]
				u1r, u1i := x1[c]-x5[c], x1[c+1]-x5[c+1]
				u2r, u2i := x3[c]+x7[c], x3[c+1]+x7[c+1]
				u3r, u3i := (x3[c+1]-x7[c+1])*sn, (x7[c]-x3[c])*sn
				o0r, o0i := u0r+u2r, u0i+u2i
				o1r, o1i := u1r+u3r, u1i+u3i
				o2r, o2i := u0r-u2r, u0i-u2i
				o3r, o3i := u1r-u3r, u1i-u3i
				// multiply odd outputs by W8^k
				o1r, o1i = (o1r+sn*o1i)*h, (o1i-sn*o1r)*h
				o2r, o2i = sn*o2i, -sn*o2r
				o3r, o3i = (sn*o3i-o3r)*h, (-o3i-sn*o3r)*h
				b0r, b0i := e0r+o0r, e0i+o0i
				b4r, b4i := e0r-o0r, e0i-o0i
				b1r, b1i := e1r+o1r, e1i+o1i
				b5r, b5i := e1r-o1r, e1i-o1i
				b2r, b2i := e2r+o2r, e2i+o2i
				b6r, b6i := e2r-o2r, e2i-o2i
				b3r, b3i := e3r+o3r, e3i+o3i
				b7r, b7i := e3r-o3r, e3i-o3i
				y0[c], y0[c+1] = b0r, b0i
				y1[c], y1[c+1] = b1r*w[0]-b1i*w[1], b1r*w[1]+b1i*w[0]
				y2[c], y2[c+1] = b2r*w[2]-b2i*w[3], b2r*w[3]+b2i*w[2]
				y3[c], y3[c+1] = b3r*w[4]-b3i*w[5], b3r*w[5]+b3i*w[4]
				y4[c], y4[c+1] = b4r*w[6]-b4i*w[7], b4r*w[7]+b4i*w[6]
				y5[c], y5[c+1] = b5r*w[8]-b5i*w[9], b5r*w[9]+b5i*w[8]
				y6[c], y6[c+1] = b6r*w[10]-b6i*w[11], b6r*w[11]+b6i*w[10]
				y7[c], y7[c+1] = b7r*w[12]-b7i*w[13], b7r*w[13]+b7i*w[12]
			}
		}
	}
}

// pass5 is one radix-5 Stockham pass: butterflies over the lanes
// of each block, output j multiplied by the twiddle tw[p][j-1] (skipped for
// p == 0). sn is +1 forward, -1 inverse.
func pass5(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	q1, q2 := sn*s51, sn*s52
	for p := 0; p < m; p++ {
		t := tw[8*p : 8*p+8]
		w1r, w1i, w2r, w2i, w3r, w3i, w4r, w4i := t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 5*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			x4 := x[ib+4*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			y4 := y[ob+8*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass5(x0, x1, x2, x3, x4, y0, y1, y2, y3, y4, n2, q1, q2, p != 0, t)
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a0r, a0i := x0[c], x0[c+1]
					a1r, a1i := x1[c], x1[c+1]
					a2r, a2i := x2[c], x2[c+1]
					a3r, a3i := x3[c], x3[c+1]
					a4r, a4i := x4[c], x4[c+1]
					p1r, p1i := a1r+a4r, a1i+a4i
					m1r, m1i := a1r-a4r, a1i-a4i
					p2r, p2i := a2r+a3r, a2i+a3i
					m2r, m2i := a2r-a3r, a2i-a3i
					y0[c], y0[c+1] = a0r+p1r+p2r, a0i+p1i+p2i
					r1r, r1i := a0r+c51*p1r+c52*p2r, a0i+c51*p1i+c52*p2i
					i1r, i1i := q1*m1r+q2*m2r, q1*m1i+q2*m2i
					r2r, r2i := a0r+c52*p1r+c51*p2r, a0i+c52*p1i+c51*p2i
					i2r, i2i := q2*m1r-q1*m2r, q2*m1i-q1*m2i
					b1r, b1i := r1r+i1i, r1i-i1r
					b4r, b4i := r1r-i1i, r1i+i1r
					b2r, b2i := r2r+i2i, r2i-i2r
					b3r, b3i := r2r-i2i, r2i+i2r
					y1[c], y1[c+1] = b1r, b1i
					y2[c], y2[c+1] = b2r, b2i
					y3[c], y3[c+1] = b3r, b3i
					y4[c], y4[c+1] = b4r, b4i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a0r, a0i := x0[c], x0[c+1]
				a1r, a1i := x1[c], x1[c+1]
				a2r, a2i := x2[c], x2[c+1]
				a3r, a3i := x3[c], x3[c+1]
				a4r, a4i := x4[c], x4[c+1]
				p1r, p1i := a1r+a4r, a1i+a4i
				m1r, m1i := a1r-a4r, a1i-a4i
				p2r, p2i := a2r+a3r, a2i+a3i
				m2r, m2i := a2r-a3r, a2i-a3i
				y0[c], y0[c+1] = a0r+p1r+p2r, a0i+p1i+p2i
				r1r, r1i := a0r+c51*p1r+c52*p2r, a0i+c51*p1i+c52*p2i
				i1r, i1i := q1*m1r+q2*m2r, q1*m1i+q2*m2i
				r2r, r2i := a0r+c52*p1r+c51*p2r, a0i+c52*p1i+c51*p2i
				i2r, i2i := q2*m1r-q1*m2r, q2*m1i-q1*m2i
				b1r, b1i := r1r+i1i, r1i-i1r
				b4r, b4i := r1r-i1i, r1i+i1r
				b2r, b2i := r2r+i2i, r2i-i2r
				b3r, b3i := r2r-i2i, r2i+i2r
				y1[c], y1[c+1] = b1r*w1r-b1i*w1i, b1r*w1i+b1i*w1r
				y2[c], y2[c+1] = b2r*w2r-b2i*w2i, b2r*w2i+b2i*w2r
				y3[c], y3[c+1] = b3r*w3r-b3i*w3i, b3r*w3i+b3i*w3r
				y4[c], y4[c+1] = b4r*w4r-b4i*w4i, b4r*w4i+b4i*w4r
			}
		}
	}
}

// pass7 is one radix-7 Stockham pass: butterflies over the lanes
// of each block, output j multiplied by the twiddle tw[p][j-1] (skipped for
// p == 0). sn is +1 forward, -1 inverse.
func pass7(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	q1, q2, q3 := sn*s71, sn*s72, sn*s73
	var w [12]float32
	for p := 0; p < m; p++ {
		copy(w[:], tw[12*p:12*p+12])
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 7*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			x4 := x[ib+4*ks:][:n2]
			x5 := x[ib+5*ks:][:n2]
			x6 := x[ib+6*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			y4 := y[ob+8*S:][:n2]
			y5 := y[ob+10*S:][:n2]
			y6 := y[ob+12*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass7(x0, x1, x2, x3, x4, x5, x6, y0, y1, y2, y3, y4, y5, y6, n2, q1, q2, q3, p != 0, w[:])
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a0r, a0i := x0[c], x0[c+1]
					p1r, p1i := x1[c]+x6[c], x1[c+1]+x6[c+1]
					m1r, m1i := x1[c]-x6[c], x1[c+1]-x6[c+1]
					p2r, p2i := x2[c]+x5[c], x2[c+1]+x5[c+1]
					m2r, m2i := x2[c]-x5[c], x2[c+1]-x5[c+1]
					p3r, p3i := x3[c]+x4[c], x3[c+1]+x4[c+1]
					m3r, m3i := x3[c]-x4[c], x3[c+1]-x4[c+1]
					y0[c], y0[c+1] = a0r+p1r+p2r+p3r, a0i+p1i+p2i+p3i
					r1r, r1i := a0r+c71*p1r+c72*p2r+c73*p3r, a0i+c71*p1i+c72*p2i+c73*p3i
					i1r, i1i := q1*m1r+q2*m2r+q3*m3r, q1*m1i+q2*m2i+q3*m3i
					r2r, r2i := a0r+c72*p1r+c73*p2r+c71*p3r, a0i+c72*p1i+c73*p2i+c71*p3i
					i2r, i2i := q2*m1r-q3*m2r-q1*m3r, q2*m1i-q3*m2i-q1*m3i
					r3r, r3i := a0r+c73*p1r+c71*p2r+c72*p3r, a0i+c73*p1i+c71*p2i+c72*p3i
					i3r, i3i := q3*m1r-q1*m2r+q2*m3r, q3*m1i-q1*m2i+q2*m3i
					b1r, b1i := r1r+i1i, r1i-i1r
					b6r, b6i := r1r-i1i, r1i+i1r
					b2r, b2i := r2r+i2i, r2i-i2r
					b5r, b5i := r2r-i2i, r2i+i2r
					b3r, b3i := r3r+i3i, r3i-i3r
					b4r, b4i := r3r-i3i, r3i+i3r
					y1[c], y1[c+1] = b1r, b1i
					y2[c], y2[c+1] = b2r, b2i
					y3[c], y3[c+1] = b3r, b3i
					y4[c], y4[c+1] = b4r, b4i
					y5[c], y5[c+1] = b5r, b5i
					y6[c], y6[c+1] = b6r, b6i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a0r, a0i := x0[c], x0[c+1]
				p1r, p1i := x1[c]+x6[c], x1[c+1]+x6[c+1]
				m1r, m1i := x1[c]-x6[c], x1[c+1]-x6[c+1]
				p2r, p2i := x2[c]+x5[c], x2[c+1]+x5[c+1]
				m2r, m2i := x2[c]-x5[c], x2[c+1]-x5[c+1]
				p3r, p3i := x3[c]+x4[c], x3[c+1]+x4[c+1]
				m3r, m3i := x3[c]-x4[c], x3[c+1]-x4[c+1]
				y0[c], y0[c+1] = a0r+p1r+p2r+p3r, a0i+p1i+p2i+p3i
				r1r, r1i := a0r+c71*p1r+c72*p2r+c73*p3r, a0i+c71*p1i+c72*p2i+c73*p3i
				i1r, i1i := q1*m1r+q2*m2r+q3*m3r, q1*m1i+q2*m2i+q3*m3i
				r2r, r2i := a0r+c72*p1r+c73*p2r+c71*p3r, a0i+c72*p1i+c73*p2i+c71*p3i
				i2r, i2i := q2*m1r-q3*m2r-q1*m3r, q2*m1i-q3*m2i-q1*m3i
				r3r, r3i := a0r+c73*p1r+c71*p2r+c72*p3r, a0i+c73*p1i+c71*p2i+c72*p3i
				i3r, i3i := q3*m1r-q1*m2r+q2*m3r, q3*m1i-q1*m2i+q2*m3i
				b1r, b1i := r1r+i1i, r1i-i1r
				b6r, b6i := r1r-i1i, r1i+i1r
				b2r, b2i := r2r+i2i, r2i-i2r
				b5r, b5i := r2r-i2i, r2i+i2r
				b3r, b3i := r3r+i3i, r3i-i3r
				b4r, b4i := r3r-i3i, r3i+i3r
				y1[c], y1[c+1] = b1r*w[0]-b1i*w[1], b1r*w[1]+b1i*w[0]
				y2[c], y2[c+1] = b2r*w[2]-b2i*w[3], b2r*w[3]+b2i*w[2]
				y3[c], y3[c+1] = b3r*w[4]-b3i*w[5], b3r*w[5]+b3i*w[4]
				y4[c], y4[c+1] = b4r*w[6]-b4i*w[7], b4r*w[7]+b4i*w[6]
				y5[c], y5[c+1] = b5r*w[8]-b5i*w[9], b5r*w[9]+b5i*w[8]
				y6[c], y6[c+1] = b6r*w[10]-b6i*w[11], b6r*w[11]+b6i*w[10]
			}
		}
	}
}

// passGen is the direct butterfly for an odd prime r ≤ directPrimeMax,
// vectorised over the L contiguous lanes of each block.
func passGen(y, x, tw []float32, g geom, gp *genPrime, sn float32, w *work) {
	r := gp.p
	h := (r - 1) / 2
	m, S := g.m, g.S
	L2 := 2 * g.L
	ks := 2 * S * m
	sp := w.get(1, h*L2)
	sm := w.get(2, h*L2)
	acc := w.get(4, 2*L2)
	R := acc[:L2]
	I := acc[L2 : 2*L2]
	for p := 0; p < m; p++ {
		t := tw[2*(r-1)*p : 2*(r-1)*(p+1)]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + r*S*p)
			a0 := x[ib:][:L2]
			y0 := y[ob:][:L2]
			copy(R, a0)
			for j := 1; j <= h; j++ {
				u := x[ib+j*ks:][:L2]
				v := x[ib+(r-j)*ks:][:L2]
				spj := sp[(j-1)*L2:][:L2]
				smj := sm[(j-1)*L2:][:L2]
				for c := 0; c < L2; c++ {
					uu, vv := u[c], v[c]
					spj[c] = uu + vv
					smj[c] = uu - vv
					R[c] += uu + vv
				}
			}
			// output 0 is written after all inputs of this block are read
			// (in-place single-stage plans).
			for tt := 1; tt <= h; tt++ {
				cs := gp.cos[(tt-1)*h : tt*h]
				sns := gp.sin[(tt-1)*h : tt*h]
				s0 := sns[0] * sn
				for c := 0; c < L2; c++ {
					I[c] = s0 * sm[c]
				}
				for j := 1; j < h; j++ {
					sj := sns[j] * sn
					smj := sm[j*L2:][:L2]
					for c := 0; c < L2; c++ {
						I[c] += sj * smj[c]
					}
				}
				// Rt = a0 + Σ cos·sp, combined with I into outputs t and r-t.
				wr1, wi1 := t[2*(tt-1)], t[2*(tt-1)+1]
				wr2, wi2 := t[2*(r-tt-1)], t[2*(r-tt-1)+1]
				y1 := y[ob+tt*2*S:][:L2]
				y2 := y[ob+(r-tt)*2*S:][:L2]
				for c := 0; c < L2-1; c += 2 {
					rr, ri := a0[c], a0[c+1]
					for j := 0; j < h; j++ {
						cj := cs[j]
						rr += cj * sp[j*L2+c]
						ri += cj * sp[j*L2+c+1]
					}
					ir, ii := I[c], I[c+1]
					b1r, b1i := rr+ii, ri-ir
					b2r, b2i := rr-ii, ri+ir
					y1[c], y1[c+1] = b1r*wr1-b1i*wi1, b1r*wi1+b1i*wr1
					y2[c], y2[c+1] = b2r*wr2-b2i*wi2, b2r*wi2+b2i*wr2
				}
			}
			copy(y0, R)
		}
	}
}

// passRader applies Rader's algorithm for a large prime radix. All the
// butterflies of the pass are gathered into one [p-1][B] lane layout so
// that the two convolution transforms run lane-vectorised.
func passRader(y, x, tw []float32, g geom, rd *rader, inv bool, w *work) {
	r := rd.p
	n := r - 1
	m, S := g.m, g.S
	B := m * g.qn * g.L
	u := w.get(1, 2*n*B)
	U := w.get(2, 2*n*B)
	kern := rd.wf
	if inv {
		kern = rd.wi
	}
	// gather: u[k][bi] = x[butterfly bi, input inIdx[k]]; butterflies are
	// numbered (p, qq, c) with c fastest, so each copy moves L contiguous
	// complex values.
	L2 := 2 * g.L
	bi := 0
	for p := 0; p < m; p++ {
		for qq := 0; qq < g.qn; qq++ {
			ib := g.off + qq*g.qs + S*p
			for k, idx := range rd.inIdx {
				s := 2 * (ib + S*idx*m)
				d := 2 * (k*B + bi)
				copy(u[d:d+L2], x[s:s+L2])
			}
			bi += g.L
		}
	}
	rd.sub.exec(U, u, B, 0, B, false, w.child())
	// a0 + sum of the other inputs goes straight to output 0; then multiply
	// by the kernel spectrum.
	// keep the sum of the non-zero inputs (U[0]) for output 0; it is
	// written last so that in-place single-stage plans stay correct.
	s0 := w.get(4, 2*B)
	copy(s0, U[:2*B])
	for k := 0; k < n; k++ {
		kr, ki := kern[2*k], kern[2*k+1]
		row := U[2*k*B : 2*(k+1)*B]
		j0 := 0
		if useSIMD {
			j0 = vcmulConst(row, kr, ki)
		}
		for j := j0; j+1 < len(row); j += 2 {
			ur, ui := row[j], row[j+1]
			row[j], row[j+1] = ur*kr-ui*ki, ur*ki+ui*kr
		}
	}
	rd.sub.exec(u, U, B, 0, B, true, w.child())
	bi = 0
	for p := 0; p < m; p++ {
		t := tw[2*(r-1)*p : 2*(r-1)*(p+1)]
		for qq := 0; qq < g.qn; qq++ {
			ib := g.off + qq*g.qs + S*p
			ob := g.off + qq*g.qs + r*S*p
			a0 := x[2*ib:][:L2]
			for q, idx := range rd.outIdx {
				d := 2 * (q*B + bi)
				us := u[d:][:L2]
				wr, wi := t[2*(idx-1)], t[2*(idx-1)+1]
				o := 2 * (ob + S*idx)
				ys := y[o:][:L2]
				c0 := 0
				if useSIMD {
					c0 = vaddCmul(ys, a0, us, L2, wr, wi)
				}
				for c := c0; c < L2-1; c += 2 {
					vr, vi := a0[c]+us[c], a0[c+1]+us[c+1]
					ys[c], ys[c+1] = vr*wr-vi*wi, vr*wi+vi*wr
				}
			}
			ys := y[2*ob:][:L2]
			ss := s0[2*bi:][:L2]
			for c := 0; c < L2-1; c += 2 {
				ys[c], ys[c+1] = a0[c]+ss[c], a0[c+1]+ss[c+1]
			}
			bi += g.L
		}
	}
}
