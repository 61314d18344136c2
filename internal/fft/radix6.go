package fft

// pass6 is a radix-6 Stockham pass using the prime-factor (Good–Thomas)
// split 6 = 2×3, which needs no internal twiddles: three radix-2
// butterflies on the input pairs (0,3), (2,5), (4,1), then two radix-3
// butterflies whose outputs land at (0,4,2) and (3,1,5). Output j is then
// multiplied by tw[p][j-1] (skipped for p == 0). sn is +1 forward, -1
// inverse.
func pass6(y, x, tw []float32, g geom, sn float32) {
	m, S := g.m, g.S
	ks := 2 * S * m
	n2 := 2 * g.L
	ss := sn * s3
	for p := 0; p < m; p++ {
		t := tw[10*p : 10*p+10]
		for qq := 0; qq < g.qn; qq++ {
			b := g.off + qq*g.qs
			ib := 2 * (b + S*p)
			ob := 2 * (b + 6*S*p)
			x0 := x[ib:][:n2]
			x1 := x[ib+ks:][:n2]
			x2 := x[ib+2*ks:][:n2]
			x3 := x[ib+3*ks:][:n2]
			x4 := x[ib+4*ks:][:n2]
			x5 := x[ib+5*ks:][:n2]
			y0 := y[ob:][:n2]
			y1 := y[ob+2*S:][:n2]
			y2 := y[ob+4*S:][:n2]
			y3 := y[ob+6*S:][:n2]
			y4 := y[ob+8*S:][:n2]
			y5 := y[ob+10*S:][:n2]
			c0 := 0
			if useSIMD && n2 >= 8 {
				c0 = vpass6(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5, n2, ss, p != 0, t)
			}
			if p == 0 {
				for c := c0; c < n2-1; c += 2 {
					s0r, s0i := x0[c]+x3[c], x0[c+1]+x3[c+1]
					d0r, d0i := x0[c]-x3[c], x0[c+1]-x3[c+1]
					s1r, s1i := x2[c]+x5[c], x2[c+1]+x5[c+1]
					d1r, d1i := x2[c]-x5[c], x2[c+1]-x5[c+1]
					s2r, s2i := x4[c]+x1[c], x4[c+1]+x1[c+1]
					d2r, d2i := x4[c]-x1[c], x4[c+1]-x1[c+1]
					y0[c], y0[c+1], y4[c], y4[c+1], y2[c], y2[c+1] = bf3(s0r, s0i, s1r, s1i, s2r, s2i, ss)
					y3[c], y3[c+1], y1[c], y1[c+1], y5[c], y5[c+1] = bf3(d0r, d0i, d1r, d1i, d2r, d2i, ss)
				}
				continue
			}
			w1r, w1i, w2r, w2i, w3r, w3i := t[0], t[1], t[2], t[3], t[4], t[5]
			w4r, w4i, w5r, w5i := t[6], t[7], t[8], t[9]
			for c := c0; c < n2-1; c += 2 {
				s0r, s0i := x0[c]+x3[c], x0[c+1]+x3[c+1]
				d0r, d0i := x0[c]-x3[c], x0[c+1]-x3[c+1]
				s1r, s1i := x2[c]+x5[c], x2[c+1]+x5[c+1]
				d1r, d1i := x2[c]-x5[c], x2[c+1]-x5[c+1]
				s2r, s2i := x4[c]+x1[c], x4[c+1]+x1[c+1]
				d2r, d2i := x4[c]-x1[c], x4[c+1]-x1[c+1]
				b0r, b0i, b4r, b4i, b2r, b2i := bf3(s0r, s0i, s1r, s1i, s2r, s2i, ss)
				b3r, b3i, b1r, b1i, b5r, b5i := bf3(d0r, d0i, d1r, d1i, d2r, d2i, ss)
				y0[c], y0[c+1] = b0r, b0i
				y1[c], y1[c+1] = b1r*w1r-b1i*w1i, b1r*w1i+b1i*w1r
				y2[c], y2[c+1] = b2r*w2r-b2i*w2i, b2r*w2i+b2i*w2r
				y3[c], y3[c+1] = b3r*w3r-b3i*w3i, b3r*w3i+b3i*w3r
				y4[c], y4[c+1] = b4r*w4r-b4i*w4i, b4r*w4i+b4i*w4r
				y5[c], y5[c+1] = b5r*w5r-b5i*w5i, b5r*w5i+b5i*w5r
			}
		}
	}
}

// bf3 is a radix-3 butterfly; ss is sn*sin(2π/3).
func bf3(x0r, x0i, x1r, x1i, x2r, x2i, ss float32) (y0r, y0i, y1r, y1i, y2r, y2i float32) {
	tr, ti := x1r+x2r, x1i+x2i
	dr, di := (x1r-x2r)*ss, (x1i-x2i)*ss
	mr, mi := x0r+c3*tr, x0i+c3*ti
	return x0r + tr, x0i + ti, mr + di, mi - dr, mr - di, mi + dr
}
