//go:build !unix

package darcy

import "time"

func processCPU() time.Duration { return 0 }
