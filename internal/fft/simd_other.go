//go:build !(goexperiment.simd && amd64)

package fft

// useSIMD is false: the vector kernels need GOEXPERIMENT=simd on amd64.
// The stubs below are never called.
const useSIMD = false

func vpass2(x0, x1, y0, y1 []float32, n2 int, tw bool, wr, wi float32) int { return 0 }

func vpass3(x0, x1, x2, y0, y1, y2 []float32, n2 int, ss float32, tw bool, w1r, w1i, w2r, w2i float32) int {
	return 0
}

func vpass4(x0, x1, x2, x3, y0, y1, y2, y3 []float32, n2 int, sn float32, tw bool, w []float32) int {
	return 0
}

func vpass5(x0, x1, x2, x3, x4, y0, y1, y2, y3, y4 []float32, n2 int, q1, q2 float32, tw bool, w []float32) int {
	return 0
}

func vpass7(x0, x1, x2, x3, x4, x5, x6, y0, y1, y2, y3, y4, y5, y6 []float32, n2 int, q1, q2, q3 float32, tw bool, w []float32) int {
	return 0
}

func vpass8(x0, x1, x2, x3, x4, x5, x6, x7, y0, y1, y2, y3, y4, y5, y6, y7 []float32, n2 int, sn float32, tw bool, w []float32) int {
	return 0
}

func vcmulConst(row []float32, kr, ki float32) int { return 0 }

func vaddCmul(ys, a0, us []float32, n2 int, wr, wi float32) int { return 0 }

func vrealFwd(zk, zj []float32, wr, wi float32) int { return 0 }

func vrealInv(ak, aj []float32, f, wr, wi float32) int { return 0 }

func vpass6(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5 []float32, n2 int, ss float32, tw bool, w []float32) int {
	return 0
}
