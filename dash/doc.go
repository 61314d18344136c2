// Package dash implements DASH (Shen, Khodak, Talwalkar, NeurIPS 2022):
// architecture search over the kernel sizes and dilations of a CNN's
// convolutions, made cheap by three identities — mixed weights (all
// candidates are linear, so their weighted sum is one convolution with the
// summed kernel), Kronecker dilation (a dilated kernel is a scatter of the
// undilated one) and Fourier convolution (the summed kernel is applied in
// O(n log n) whatever its size).
//
// The building block is AggConv, the aggregated convolution over a set of
// kernel sizes K and dilations D, in 1-D ([N, C, L]) and 2-D ([N, C, H, W]),
// with three interchangeable strategies that compute the same function:
//
//   - MixedResults: |K|·|D| convolutions, each 'same' with its own dilation,
//     summed with the mixing coefficients (the DARTS-style baseline);
//   - MixedWeights: the candidates are Kronecker-dilated, centred in the
//     largest receptive field S = max d(k−1)+1 and summed with the mixing
//     coefficients; one direct convolution with the summed kernel;
//   - Fourier: the same summed kernel applied by real FFT with a
//     channel-contracting complex multiply (DASH).
//
// The mixing coefficients are softmax(α) or a seeded Gumbel-softmax of
// log_softmax(α); after the search each layer keeps (k, d) = argmax α.
//
// Bench measures the time of one search step (forward and backward,
// architecture parameters included) of the three strategies as |K| = |D|
// and the input length grow: the speed figure of the paper, on any backend.
package dash
