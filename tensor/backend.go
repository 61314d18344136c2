package tensor

// MaxRank is the largest rank the strided kernels (Copy, Binary, ComplexMul)
// accept. Higher-rank views must be made contiguous first.
const MaxRank = 8

// Buffer is a block of backend memory holding Len() 4-byte elements
// (float32 or int32). A Buffer belongs to the Backend that allocated it.
type Buffer interface {
	// Len is the number of 4-byte elements.
	Len() int
}

// Backend executes the engine's kernels on one device. Kernels are enqueued
// and may run asynchronously; Read*, Sync and Close are the sync points.
// Every buffer argument of a kernel is addressed in 4-byte elements. Output
// buffers never alias input buffers unless a kernel says so. Kernels are
// programmer-facing: bad sizes panic with a message naming the kernel.
//
// The CPU backend (package tensor/cpu) is the reference implementation; every
// other backend is checked against it.
type Backend interface {
	// Name identifies the backend and device, e.g. "cpu (2 threads)".
	Name() string
	// Alloc returns a zero-filled buffer of n elements.
	Alloc(n int) Buffer
	// Free returns a buffer to the backend; it must not be used afterwards.
	Free(b Buffer)
	// WriteFloat32 copies src into dst starting at element off.
	WriteFloat32(dst Buffer, off int, src []float32)
	// ReadFloat32 waits for pending work on src and copies len(dst) elements
	// starting at off into dst.
	ReadFloat32(src Buffer, off int, dst []float32)
	// WriteInt32 and ReadInt32 are the int32 counterparts.
	WriteInt32(dst Buffer, off int, src []int32)
	ReadInt32(src Buffer, off int, dst []int32)
	// Sync waits for all enqueued work and reports any device error.
	Sync() error
	// Close releases every device resource of the backend.
	Close() error

	Kernels
}

// Kernels is the set of device kernels every backend implements. Higher-level
// ops (softmax, losses, batch norm, ...) are composed from these in package
// tensor, so a new backend only has to provide this list.
type Kernels interface {
	// Copy copies the strided view (src, srcOff, srcStrides) of the given shape
	// into the strided view (dst, dstOff, dstStrides). Works for float32 and
	// int32 alike (it moves 4-byte elements). A stride of 0 in src broadcasts.
	Copy(dst Buffer, dstOff int, dstStrides []int, src Buffer, srcOff int, srcStrides []int, shape []int)
	// Fill sets n float32 elements starting at off to v.
	Fill(dst Buffer, off, n int, v float32)
	// FillInt32 sets n int32 elements starting at off to v.
	FillInt32(dst Buffer, off, n int, v int32)
	// Unary applies op to n contiguous elements: dst[i] = op(src[i]; a, b).
	// dst may equal src.
	Unary(op UnaryOp, dst, src Buffer, n int, a, b float32)
	// Binary writes the contiguous result of the given shape:
	// dst[idx] = op(a[aOff + idx·aStrides], b[bOff + idx·bStrides]).
	// Zero strides broadcast. dst may equal a or b when their view is the
	// same contiguous layout as dst.
	Binary(op BinaryOp, dst Buffer, shape []int, a Buffer, aOff int, aStrides []int, b Buffer, bOff int, bStrides []int)
	// Reduce reduces src viewed as contiguous [outer][n][inner] over the
	// middle axis into dst [outer][inner]. ArgMax/ArgMin write int32 indices.
	Reduce(op ReduceOp, dst, src Buffer, outer, n, inner int)
	// Random fills n contiguous elements starting at off with counter-based
	// random numbers: element i depends only on (seed, i) as specified by
	// HashUniform and HashNormal, so every backend produces the same values.
	Random(dst Buffer, off, n int, dist Distribution, seed uint64, a, b float32)
	// MatMul computes, for each batch index, C = alpha·op(A)·op(B) + beta·C
	// with op(A) of shape [M,K] and op(B) of shape [K,N], all row-major.
	MatMul(c, a, b Buffer, p MatMulParams)
	// GatherCols writes dst[r] = src[r*cols + idx[r]] for r < rows (idx int32).
	GatherCols(dst, src, idx Buffer, rows, cols int)
	// ScatterAddCols adds src[r] into dst[r*cols + idx[r]] for r < rows.
	ScatterAddCols(dst, src, idx Buffer, rows, cols int)

	// ConvForward computes a 2-D cross-correlation (1-D convolutions use
	// H = KH = 1). x [N][C][H][W], w [K][C/G][KH][KW], y [N][K][OH][OW].
	ConvForward(p ConvParams, y, x, w Buffer)
	// ConvBackwardData writes dx (overwriting) from dy and w.
	ConvBackwardData(p ConvParams, dx, dy, w Buffer)
	// ConvBackwardFilter writes dw (overwriting) from x and dy.
	ConvBackwardFilter(p ConvParams, dw, x, dy Buffer)
	// MaxPool writes y and the int32 flat index (within the H×W plane) of each
	// maximum into idx. Padding never wins the max.
	MaxPool(p PoolParams, y, idx, x Buffer)
	// MaxPoolBackward writes dx (overwriting) by routing dy through idx.
	MaxPoolBackward(p PoolParams, dx, dy, idx Buffer)
	// AvgPool averages each window; padding counts as zeros in the average
	// (PyTorch's count_include_pad=true).
	AvgPool(p PoolParams, y, x Buffer)
	// AvgPoolBackward writes dx (overwriting).
	AvgPoolBackward(p PoolParams, dx, dy Buffer)

	// RFFT: src [batch][n] real → dst [batch][n/2+1][2], unnormalised.
	RFFT(dst, src Buffer, batch, n int)
	// IRFFT: src [batch][n/2+1][2] → dst [batch][n], normalised by 1/n; the
	// imaginary parts of the DC and (even n) Nyquist bins are ignored.
	IRFFT(dst, src Buffer, batch, n int)
	// RFFT2: src [batch][h][w] → dst [batch][h][w/2+1][2], unnormalised.
	RFFT2(dst, src Buffer, batch, h, w int)
	// IRFFT2: the inverse of RFFT2, normalised by 1/(h·w).
	IRFFT2(dst, src Buffer, batch, h, w int)
	// ComplexContract contracts interleaved complex tensors over channels for
	// every frequency f < F (see ContractMode for the three forms).
	ComplexContract(mode ContractMode, dst, a, b Buffer, B, I, O, F int)
	// ComplexMul multiplies interleaved complex elements with broadcasting:
	// shape and strides count complex elements (strides in complex units);
	// dst is contiguous. With conjB, b is conjugated.
	ComplexMul(dst Buffer, shape []int, a Buffer, aOff int, aStrides []int, b Buffer, bOff int, bStrides []int, conjB bool)
	// KronDilate scatters undilated kernels src [rows][k...] into dilated
	// kernels dst [rows][d(k-1)+1 ...] (1 or 2 trailing dims) with zeros
	// between taps. dst is overwritten.
	KronDilate(dst, src Buffer, rows int, k, d []int)
	// KronGather is the adjoint of KronDilate: dst [rows][k...] gathers the
	// taps of src [rows][d(k-1)+1 ...].
	KronGather(dst, src Buffer, rows int, k, d []int)

	// SGDStep updates n parameters in place (PyTorch semantics):
	// g' = g + wd·p; m = momentum·m + g'; step = nesterov ? g' + momentum·m : m;
	// p -= lr·step (with momentum 0, step = g').
	SGDStep(p, g, m Buffer, n int, o SGDParams)
	// AdamStep updates n parameters in place (Adam, or AdamW when
	// o.Decoupled), with bias correction for step o.Step (1-based).
	AdamStep(p, g, m, v Buffer, n int, o AdamParams)

	// BatchNormForward is fused batch normalisation of x viewed as
	// [N][C][S] (see BatchNormParams): per channel c, with x' = x + bias[c]
	// (bias may be nil: 0),
	//   training: mean, var = batch mean and biased variance of x;
	//             shift = mean, invstd = 1/√(var+eps);
	//             runMean/runVar (may be nil) ← (1−m)·run + m·(mean+bias, var·M/(M−1));
	//   otherwise: shift = runMean − bias, invstd = 1/√(runVar+eps);
	//   scale = invstd·gamma, offset = beta − shift·scale,
	//   y = act(x·scale + offset), act = ReLU when p.ReLU.
	// gamma and beta may be nil (1 and 0). stats [4][C] receives shift,
	// invstd, scale and offset for BatchNormBackward.
	BatchNormForward(p BatchNormParams, y, stats, x, bias, gamma, beta, runMean, runVar Buffer)
	// BatchNormBackward writes the gradients of BatchNormForward (each
	// output may be nil when not needed; all are overwritten): with
	// g = dy·(x·scale + offset > 0 when p.ReLU), x̂ = (x − shift)·invstd, M = N·S,
	//   dgamma = Σ g·x̂, dbeta = Σ g,
	//   training: dx = scale/M·(M·g − Σg − x̂·Σg·x̂); otherwise dx = scale·g,
	//   dbias = Σ dx (per channel).
	BatchNormBackward(p BatchNormParams, dx, dgamma, dbeta, dbias, dy, x, stats Buffer)
	// BiasAct writes y[n,c,s] = act(x[n,c,s] + bias[c]) over [N][C][S]
	// (act = ReLU when relu, else identity; bias may be nil). y may equal x.
	BiasAct(y, x, bias Buffer, n, c, s int, relu bool)
	// BiasActBackward writes dx = dy·(y > 0 when relu) (dx may be nil or
	// equal dy) and dbias[c] = Σ_{n,s} dx (dbias may be nil).
	BiasActBackward(dx, dbias, dy, y Buffer, n, c, s int, relu bool)
}

// BatchNormParams describes a fused batch normalisation over x viewed as
// [N][C][S] (S: the product of the spatial sizes).
type BatchNormParams struct {
	N, C, S       int
	Eps, Momentum float32
	// Training uses (and returns) batch statistics and updates the running
	// ones; otherwise the running statistics normalise.
	Training bool
	// ReLU applies max(·, 0) to the output (and masks the gradient).
	ReLU bool
}

// UnaryOp names an elementwise function of one argument and two scalars.
type UnaryOp uint8

// Unary operations. a and b are the kernel's scalar arguments.
const (
	OpIdentity   UnaryOp = iota // x
	OpNeg                       // -x
	OpAbs                       // |x|
	OpExp                       // e^x
	OpLog                       // ln x
	OpSqrt                      // √x
	OpRsqrt                     // 1/√x
	OpSquare                    // x²
	OpRecip                     // 1/x
	OpReLU                      // max(x, 0)
	OpSigmoid                   // 1/(1+e^-x)
	OpTanh                      // tanh x
	OpGELU                      // x·Φ(x) (exact, erf form)
	OpSoftplus                  // ln(1+e^x), stable
	OpSin                       // sin x
	OpCos                       // cos x
	OpAffine                    // a·x + b
	OpPowScalar                 // x^a
	OpClampMin                  // max(x, a)
	OpClampMax                  // min(x, a)
	OpSign                      // -1, 0, 1
	OpThreshold                 // x ≥ a ? b : 0
	OpLogSigmoid                // ln σ(x), stable
	numUnary
)

// BinaryOp names an elementwise function of two tensors.
type BinaryOp uint8

// Binary operations: dst = op(a, b).
const (
	OpAdd          BinaryOp = iota // a + b
	OpSub                          // a - b
	OpMul                          // a · b
	OpDiv                          // a / b
	OpMax                          // max(a, b)
	OpMin                          // min(a, b)
	OpPow                          // a^b
	OpGreater                      // a > b ? 1 : 0
	OpEqual                        // a == b ? 1 : 0
	OpReLUGrad                     // a · (b > 0): a = dy, b = x
	OpSigmoidGrad                  // a · b(1-b): a = dy, b = σ(x)
	OpTanhGrad                     // a · (1-b²): a = dy, b = tanh(x)
	OpGELUGrad                     // a · GELU'(b): a = dy, b = x
	OpSoftplusGrad                 // a · σ(b): a = dy, b = x
	OpAddReLU                      // max(a + b, 0)
	numBinary
)

// ReduceOp names a reduction over one axis.
type ReduceOp uint8

// Reductions.
const (
	ReduceSum ReduceOp = iota
	ReduceMax
	ReduceMin
	ReduceArgMax // int32 output: index of the first maximum
	ReduceArgMin // int32 output: index of the first minimum
)

// Distribution selects the law of Random.
type Distribution uint8

// Distributions: Uniform on [a, b), Normal with mean a and std b.
const (
	Uniform Distribution = iota
	Normal
)

// MatMulParams describes a batched GEMM. Offsets and batch strides are in
// elements; a batch stride of 0 reuses the same matrix for every batch index.
type MatMulParams struct {
	Batch, M, K, N            int
	TransA, TransB            bool
	AOff, BOff, COff          int
	StrideA, StrideB, StrideC int
	Alpha, Beta               float32
}

// ConvParams describes a 2-D cross-correlation with groups. 1-D convolutions
// use H = KH = OH = 1, SH = DH = 1, PH = 0. Padding is given before each axis
// (PH top, PW left); the padding after is implied by OH/OW, so asymmetric
// ('same' with even kernels, causal) padding is expressible.
type ConvParams struct {
	N, C, H, W int // input
	K, Groups  int // output channels, groups (C and K divisible by Groups)
	KH, KW     int // kernel
	SH, SW     int // stride
	DH, DW     int // dilation
	PH, PW     int // padding before
	OH, OW     int // output size
}

// PoolParams describes a 2-D pooling window (1-D: H = KH = OH = 1).
type PoolParams struct {
	N, C, H, W int
	KH, KW     int
	SH, SW     int
	PH, PW     int
	OH, OW     int
}

// ContractMode selects the form of ComplexContract. All operands are
// interleaved complex, frequency-last.
type ContractMode uint8

// Contraction forms (X: [B][I][F], W: [O][I][F], Y: [B][O][F]):
const (
	// ContractForward: dst=Y[b,o,f] = Σ_i a=X[b,i,f] · b=W[o,i,f].
	ContractForward ContractMode = iota
	// ContractGradX: dst=dX[b,i,f] = Σ_o a=dY[b,o,f] · conj(b=W[o,i,f]).
	ContractGradX
	// ContractGradW: dst=dW[o,i,f] = Σ_b a=dY[b,o,f] · conj(b=X[b,i,f]).
	ContractGradW
)

// SGDParams configures SGDStep.
type SGDParams struct {
	LR, Momentum, WeightDecay float32
	Nesterov                  bool
}

// AdamParams configures AdamStep.
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                          bool // AdamW
	Step                               int  // 1-based step count for bias correction
}

// UninitAllocator is implemented by backends that can hand out a buffer
// without zero-filling it. Ops whose kernels overwrite every output element
// use it to skip a pass over memory; everything else uses Alloc.
type UninitAllocator interface {
	AllocUninit(n int) Buffer
}
