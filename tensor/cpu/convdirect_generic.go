//go:build !amd64 || purego

package cpu

// asmDirKernels: portable builds have none, so the direct convolution is off.
var asmDirKernels *dirKernelSet
