// Push constants shared by the pooling shaders (tensor.PoolParams).
layout(push_constant) uniform PC {
	int N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
} pc;
