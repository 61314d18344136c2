// Shared helpers for dash's compute shaders. Include after the
// layout(local_size_x ...) declaration: gl_WorkGroupSize is fixed there.
//
// Grids: the runtime folds large workgroup counts into a 2-D grid within the
// device's 65535-per-axis limit; these helpers recover the linear indices.

uint group_index() {
	return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}

uint global_index() {
	return group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
