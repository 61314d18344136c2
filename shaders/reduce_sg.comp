#version 450
// Reduction with subgroup shuffles (devices whose compute stage supports
// GL_KHR_shader_subgroup_shuffle); see reduce.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define SUBGROUP
#include "reduce.glsl"
