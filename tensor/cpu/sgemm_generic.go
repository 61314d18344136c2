//go:build !amd64 || purego

package cpu

// supportedKernels lists the kernels this machine can run: only the portable
// one here.
func supportedKernels() []*sgemmKernel { return []*sgemmKernel{genericKernel} }
