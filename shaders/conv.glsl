// Push constants shared by the convolution shaders (tensor.ConvParams).
layout(push_constant) uniform PC {
	int N, C, H, W, K, G, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW;
} pc;
