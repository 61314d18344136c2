#version 450
// Portable reduction (shared-memory tree); see reduce.glsl.
#include "reduce.glsl"
