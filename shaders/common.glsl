// Shared helpers for dash's compute shaders.
//
// Grids: the runtime folds large workgroup counts into a 2-D grid within the
// device's 65535-per-axis limit; these helpers recover the linear indices.

uint group_index() {
	return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}

uint global_index() {
	return group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
