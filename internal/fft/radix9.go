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
			var xs, ys [9][]float32
			for k := 0; k < 9; k++ {
				xs[k] = x[ib+k*ks:][:n2]
				ys[k] = y[ob+2*k*S:][:n2]
			}
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass9(&xs, &ys, n2, ss, p != 0, w[:])
			}
			for c := c0; c < n2-1; c += 2 {
				a00r, a00i, a01r, a01i, a02r, a02i := bf3(xs[0][c], xs[0][c+1], xs[3][c], xs[3][c+1], xs[6][c], xs[6][c+1], ss)
				a10r, a10i, a11r, a11i, a12r, a12i := bf3(xs[1][c], xs[1][c+1], xs[4][c], xs[4][c+1], xs[7][c], xs[7][c+1], ss)
				a20r, a20i, a21r, a21i, a22r, a22i := bf3(xs[2][c], xs[2][c+1], xs[5][c], xs[5][c+1], xs[8][c], xs[8][c+1], ss)
				a11r, a11i = a11r*i1r-a11i*i1i, a11r*i1i+a11i*i1r
				a12r, a12i = a12r*i2r-a12i*i2i, a12r*i2i+a12i*i2r
				a21r, a21i = a21r*i2r-a21i*i2i, a21r*i2i+a21i*i2r
				a22r, a22i = a22r*i4r-a22i*i4i, a22r*i4i+a22i*i4r
				var o [18]float32
				o[0], o[1], o[6], o[7], o[12], o[13] = bf3(a00r, a00i, a10r, a10i, a20r, a20i, ss)
				o[2], o[3], o[8], o[9], o[14], o[15] = bf3(a01r, a01i, a11r, a11i, a21r, a21i, ss)
				o[4], o[5], o[10], o[11], o[16], o[17] = bf3(a02r, a02i, a12r, a12i, a22r, a22i, ss)
				ys[0][c], ys[0][c+1] = o[0], o[1]
				if p == 0 {
					for k := 1; k < 9; k++ {
						ys[k][c], ys[k][c+1] = o[2*k], o[2*k+1]
					}
					continue
				}
				for k := 1; k < 9; k++ {
					br, bi := o[2*k], o[2*k+1]
					wr, wi := w[2*k-2], w[2*k-1]
					ys[k][c], ys[k][c+1] = br*wr-bi*wi, br*wi+bi*wr
				}
			}
		}
	}
}
