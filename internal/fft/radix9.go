package fft

import "math"

var (
	c91 = float32(math.Cos(2 * math.Pi / 9))
	s91 = float32(math.Sin(2 * math.Pi / 9))
	c92 = float32(math.Cos(4 * math.Pi / 9))
	s92 = float32(math.Sin(4 * math.Pi / 9))
	c94 = float32(math.Cos(8 * math.Pi / 9))
	s94 = float32(math.Sin(8 * math.Pi / 9))
)

// bf3 is a radix-3 butterfly; ss is sn*sin(2π/3).
func bf3(x0r, x0i, x1r, x1i, x2r, x2i, ss float32) (y0r, y0i, y1r, y1i, y2r, y2i float32) {
	tr, ti := x1r+x2r, x1i+x2i
	dr, di := (x1r-x2r)*ss, (x1i-x2i)*ss
	mr, mi := x0r+c3*tr, x0i+c3*ti
	return x0r + tr, x0i + ti, mr + di, mi - dr, mr - di, mi + dr
}

// pass9 is a radix-9 pass computed as 3×3 with internal twiddles.
func pass9(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	ss := sn * s3
	// internal twiddles ω9^1, ω9^2, ω9^4 (sign follows the direction)
	i1r, i1i := c91, -sn*s91
	i2r, i2i := c92, -sn*s92
	i4r, i4i := c94, -sn*s94
	var w [16]float32
	for p := 0; p < m; p++ {
		copy(w[:], tw[16*p:16*p+16])
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 9*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+1*ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			x4 := x[ib+4*ks:][:n2]
			x5 := x[ib+5*ks:][:n2]
			x6 := x[ib+6*ks:][:n2]
			x7 := x[ib+7*ks:][:n2]
			x8 := x[ib+8*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			y4 := y[ob+8*S:][:n2]
			y5 := y[ob+10*S:][:n2]
			y6 := y[ob+12*S:][:n2]
			y7 := y[ob+14*S:][:n2]
			y8 := y[ob+16*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				xs := [9][]float32{x0, x1, x2, x3, x4, x5, x6, x7, x8}
				ys := [9][]float32{y0, y1, y2, y3, y4, y5, y6, y7, y8}
				c0 = vpass9(&xs, &ys, n2, ss, p != 0, w[:])
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					a00r, a00i, a01r, a01i, a02r, a02i := bf3(x0[c], x0[c+1], x3[c], x3[c+1], x6[c], x6[c+1], ss)
					a10r, a10i, a11r, a11i, a12r, a12i := bf3(x1[c], x1[c+1], x4[c], x4[c+1], x7[c], x7[c+1], ss)
					a20r, a20i, a21r, a21i, a22r, a22i := bf3(x2[c], x2[c+1], x5[c], x5[c+1], x8[c], x8[c+1], ss)
					a11r, a11i = a11r*i1r-a11i*i1i, a11r*i1i+a11i*i1r
					a12r, a12i = a12r*i2r-a12i*i2i, a12r*i2i+a12i*i2r
					a21r, a21i = a21r*i2r-a21i*i2i, a21r*i2i+a21i*i2r
					a22r, a22i = a22r*i4r-a22i*i4i, a22r*i4i+a22i*i4r
					b0r, b0i, b3r, b3i, b6r, b6i := bf3(a00r, a00i, a10r, a10i, a20r, a20i, ss)
					b1r, b1i, b4r, b4i, b7r, b7i := bf3(a01r, a01i, a11r, a11i, a21r, a21i, ss)
					b2r, b2i, b5r, b5i, b8r, b8i := bf3(a02r, a02i, a12r, a12i, a22r, a22i, ss)
					y0[c], y0[c+1] = b0r, b0i
					y1[c], y1[c+1] = b1r, b1i
					y2[c], y2[c+1] = b2r, b2i
					y3[c], y3[c+1] = b3r, b3i
					y4[c], y4[c+1] = b4r, b4i
					y5[c], y5[c+1] = b5r, b5i
					y6[c], y6[c+1] = b6r, b6i
					y7[c], y7[c+1] = b7r, b7i
					y8[c], y8[c+1] = b8r, b8i
				}
				continue
			}
			for c := c0; c < n2-1; c += 2 {
				a00r, a00i, a01r, a01i, a02r, a02i := bf3(x0[c], x0[c+1], x3[c], x3[c+1], x6[c], x6[c+1], ss)
				a10r, a10i, a11r, a11i, a12r, a12i := bf3(x1[c], x1[c+1], x4[c], x4[c+1], x7[c], x7[c+1], ss)
				a20r, a20i, a21r, a21i, a22r, a22i := bf3(x2[c], x2[c+1], x5[c], x5[c+1], x8[c], x8[c+1], ss)
				a11r, a11i = a11r*i1r-a11i*i1i, a11r*i1i+a11i*i1r
				a12r, a12i = a12r*i2r-a12i*i2i, a12r*i2i+a12i*i2r
				a21r, a21i = a21r*i2r-a21i*i2i, a21r*i2i+a21i*i2r
				a22r, a22i = a22r*i4r-a22i*i4i, a22r*i4i+a22i*i4r
				b0r, b0i, b3r, b3i, b6r, b6i := bf3(a00r, a00i, a10r, a10i, a20r, a20i, ss)
				b1r, b1i, b4r, b4i, b7r, b7i := bf3(a01r, a01i, a11r, a11i, a21r, a21i, ss)
				b2r, b2i, b5r, b5i, b8r, b8i := bf3(a02r, a02i, a12r, a12i, a22r, a22i, ss)
				y0[c], y0[c+1] = b0r, b0i
				y1[c], y1[c+1] = b1r*w[0]-b1i*w[1], b1r*w[1]+b1i*w[0]
				y2[c], y2[c+1] = b2r*w[2]-b2i*w[3], b2r*w[3]+b2i*w[2]
				y3[c], y3[c+1] = b3r*w[4]-b3i*w[5], b3r*w[5]+b3i*w[4]
				y4[c], y4[c+1] = b4r*w[6]-b4i*w[7], b4r*w[7]+b4i*w[6]
				y5[c], y5[c+1] = b5r*w[8]-b5i*w[9], b5r*w[9]+b5i*w[8]
				y6[c], y6[c+1] = b6r*w[10]-b6i*w[11], b6r*w[11]+b6i*w[10]
				y7[c], y7[c+1] = b7r*w[12]-b7i*w[13], b7r*w[13]+b7i*w[12]
				y8[c], y8[c+1] = b8r*w[14]-b8i*w[15], b8r*w[15]+b8i*w[14]
			}
		}
	}
}
