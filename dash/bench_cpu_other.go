//go:build !unix

package dash

// cpuSeconds is not measured on this system (TrainResult.CPUPerWall is 0).
func cpuSeconds() float64 { return 0 }
