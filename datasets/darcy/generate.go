package darcy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// OutSize is the side of the benchmark's fields: 85×85.
const OutSize = 85

// Default set sizes of the benchmark.
const (
	DefaultTrain = 1000
	DefaultTest  = 100
)

// Resolution selects how the 85×85 fields are produced.
type Resolution int

const (
	// Resolution421 is the faithful recipe: solve on 421×421 and keep every
	// 5th node in each direction (85×85).
	Resolution421 Resolution = iota
	// Direct85 is a faster approximation, NOT the benchmark's data: the
	// field is sampled and the PDE solved directly on an 85×85 grid.
	Direct85
)

// String names the resolution as used in cache file names and reports.
func (r Resolution) String() string {
	switch r {
	case Resolution421:
		return "r421"
	case Direct85:
		return "direct85"
	}
	return fmt.Sprintf("Resolution(%d)", int(r))
}

// SolveSize is the side of the grid the PDE is solved on.
func (r Resolution) SolveSize() int {
	if r == Direct85 {
		return OutSize
	}
	return 421
}

// Stride is the subsampling step from the solve grid to 85×85.
func (r Resolution) Stride() int { return (r.SolveSize() - 1) / (OutSize - 1) }

func (r Resolution) valid() bool { return r == Resolution421 || r == Direct85 }

// Stream identifies which of the two sample streams a sample belongs to; the
// train and test streams draw disjoint random fields from the same seed.
type Stream int

// The two sample streams.
const (
	Train Stream = iota
	Test
)

// String returns "train" or "test".
func (s Stream) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// Set holds n samples at 85×85: the coefficient a (values 3 or 12) and the
// solution u, each row-major N×S×S float32.
type Set struct {
	N, S int
	A    []float32
	U    []float32
}

// Options controls Generate.
type Options struct {
	Resolution Resolution // Resolution421 (default, faithful) or Direct85 (faster)
	NTrain     int        // training samples; 0 means DefaultTrain
	NTest      int        // test samples; 0 means DefaultTest
	Seed       int64
	CacheDir   string // "" means DefaultCacheDir()
	NoCache    bool   // neither read nor write the cache
	// RequireCache makes an unwritable cache an error (checked before any
	// solving) instead of a warning: `dash data darcy` exists to fill it.
	RequireCache bool
	Workers      int // parallel solves; 0 means runtime.GOMAXPROCS(0)
}

// Result is what Generate returns.
type Result struct {
	Train, Test *Set
	// FromCache is true when both sets were read from the disk cache.
	FromCache bool
	// Paths are the cache files (train, test), empty with NoCache.
	Paths []string
	// MaxResidual is the largest relative residual of the solves performed by
	// this call (0 when everything came from the cache).
	MaxResidual float64
}

var solved atomic.Int64

// SamplesSolved returns how many PDE samples this process has solved; tests
// use it to check that the cache is reused.
func SamplesSolved() int64 { return solved.Load() }

// DefaultCacheDir returns $DASH_CACHE, or os.UserCacheDir()/dash.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("DASH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("darcy: no cache directory (set DASH_CACHE): %w", err)
	}
	return filepath.Join(d, "dash"), nil
}

// CachePath is the cache file for one set, keyed by resolution, split, size
// and seed.
func CachePath(dir string, r Resolution, sp Stream, n int, seed int64) string {
	return filepath.Join(dir, "darcy", fmt.Sprintf("darcy-%s-%s-n%d-seed%d.bin.zst", r, sp, n, seed))
}

// Sample draws sample index of stream sp for the given seed and solves it on
// the resolution's solve grid. It returns a and u at the solve size
// (row-major), and the solve information.
func Sample(r Resolution, seed int64, sp Stream, index int) (a, u []float64, info SolveInfo, err error) {
	s := r.SolveSize()
	rng := rand.New(rand.NewPCG(uint64(seed)^0x9e3779b97f4a7c15, uint64(sp)<<40|uint64(index)))
	a = Threshold(GaussianField(s, rng))
	f := make([]float64, s*s)
	for i := range f {
		f[i] = 1
	}
	u, info, err = Solve(a, f, s, DefaultTol)
	if err != nil {
		return nil, nil, info, fmt.Errorf("darcy: sample %s/%d: %w", sp, index, err)
	}
	solved.Add(1)
	return a, u, info, nil
}

// GenerateSet solves n samples of one stream in parallel and subsamples them
// to 85×85. Progress lines (samples done, rate, ETA) go to progress when it
// is not nil.
func GenerateSet(ctx context.Context, r Resolution, sp Stream, n int, seed int64, workers int, progress io.Writer) (*Set, float64, error) {
	if !r.valid() {
		return nil, 0, fmt.Errorf("darcy: unknown resolution %d", int(r))
	}
	if n < 0 {
		return nil, 0, fmt.Errorf("darcy: negative sample count %d", n)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	o := OutSize
	set := &Set{N: n, S: o, A: make([]float32, n*o*o), U: make([]float32, n*o*o)}
	s, st := r.SolveSize(), r.Stride()
	var (
		mu     sync.Mutex
		done   int
		maxRes float64
		start  = time.Now()
		last   = start
	)
	report := func(final bool) {
		if progress == nil {
			return
		}
		now := time.Now()
		if !final && now.Sub(last) < time.Second {
			return
		}
		last = now
		el := now.Sub(start)
		eta := time.Duration(0)
		if done > 0 {
			eta = time.Duration(float64(el) / float64(done) * float64(n-done))
		}
		fmt.Fprintf(progress, "darcy %s %s: %d/%d samples, %.2f s/sample/worker, elapsed %s, ETA %s\n",
			r, sp, done, n, el.Seconds()*float64(workers)/math.Max(1, float64(done)),
			el.Round(100*time.Millisecond), eta.Round(time.Second))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := 0; i < n; i++ {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			a, u, info, err := Sample(r, seed, sp, i)
			if err != nil {
				return err
			}
			base := i * o * o
			for y := 0; y < o; y++ {
				for x := 0; x < o; x++ {
					p := (y*st)*s + x*st
					set.A[base+y*o+x] = float32(a[p])
					set.U[base+y*o+x] = float32(u[p])
				}
			}
			mu.Lock()
			done++
			maxRes = math.Max(maxRes, info.RelResidual)
			report(false)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, fmt.Errorf("darcy: generating %s set: %w", sp, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("darcy: generating %s set: %w", sp, err)
	}
	mu.Lock()
	report(true)
	mu.Unlock()
	return set, maxRes, nil
}

// Generate returns the train and test sets, reading them from the cache when
// present and otherwise generating them (in parallel, with progress) and
// writing the cache atomically.
func Generate(ctx context.Context, o Options, progress io.Writer) (*Result, error) {
	if o.NTrain == 0 {
		o.NTrain = DefaultTrain
	}
	if o.NTest == 0 {
		o.NTest = DefaultTest
	}
	if !o.Resolution.valid() {
		return nil, fmt.Errorf("darcy: unknown resolution %d", int(o.Resolution))
	}
	dir := o.CacheDir
	if dir == "" && !o.NoCache {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	res := &Result{FromCache: true}
	for _, sp := range []Stream{Train, Test} {
		n := o.NTrain
		if sp == Test {
			n = o.NTest
		}
		var path string
		if !o.NoCache {
			path = CachePath(dir, o.Resolution, sp, n, o.Seed)
			res.Paths = append(res.Paths, path)
			set, from, err := findCache(dir, o.Resolution, sp, n, o.Seed)
			if err == nil {
				if progress != nil {
					fmt.Fprintf(progress, "darcy %s %s: %d samples from cache %s\n", o.Resolution, sp, n, from)
				}
				res.setSplit(sp, set)
				continue
			}
			if !errors.Is(err, os.ErrNotExist) {
				slog.Warn("darcy: ignoring unusable cache file, regenerating", "path", path, "err", err)
			}
		}
		res.FromCache = false
		if o.RequireCache && path != "" {
			// fail before solving, not after
			if err := checkWritable(dir); err != nil {
				return nil, err
			}
		}
		set, mr, err := GenerateSet(ctx, o.Resolution, sp, n, o.Seed, o.Workers, progress)
		if err != nil {
			return nil, err
		}
		res.MaxResidual = math.Max(res.MaxResidual, mr)
		if path != "" {
			// A cache that cannot be written costs time later, not correctness.
			if err := writeCache(path, o.Resolution, sp, o.Seed, set); err != nil {
				if o.RequireCache {
					return nil, err
				}
				slog.Warn("darcy: could not write cache", "path", path, "err", err)
			}
		}
		res.setSplit(sp, set)
	}
	return res, nil
}

// checkWritable reports whether files can be created in the cache
// directory (creating it if needed), naming the directory when not.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("darcy: cache directory %s cannot be created (set DASH_CACHE to a writable directory): %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("darcy: cache directory %s is not writable (set DASH_CACHE to a writable directory): %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func (r *Result) setSplit(sp Stream, s *Set) {
	if sp == Test {
		r.Test = s
	} else {
		r.Train = s
	}
}

var cacheMagic = [8]byte{'D', 'A', 'S', 'H', 'D', 'R', 'C', '1'}

type cacheHeader struct {
	Magic      [8]byte
	Resolution int32
	Stream     int32
	N          int64
	S          int64
	Seed       int64
}

// writeCache writes a set as a zstd stream: header, a as one byte per node
// (1 for APos, 0 for ANeg), u as little-endian float32. It writes to a
// temporary file in the same directory and renames it into place.
func writeCache(path string, r Resolution, sp Stream, seed int64, s *Set) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("darcy: creating cache directory: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("darcy: creating cache file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		return fmt.Errorf("darcy: zstd writer: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	h := cacheHeader{Magic: cacheMagic, Resolution: int32(r), Stream: int32(sp), N: int64(s.N), S: int64(s.S), Seed: seed}
	if err := binary.Write(bw, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("darcy: writing cache %s: %w", path, err)
	}
	ab := make([]byte, len(s.A))
	for i, v := range s.A {
		if v == APos {
			ab[i] = 1
		}
	}
	if _, err := bw.Write(ab); err != nil {
		return fmt.Errorf("darcy: writing cache %s: %w", path, err)
	}
	buf := make([]byte, 0, 4*len(s.U))
	for _, v := range s.U {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("darcy: writing cache %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("darcy: writing cache %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("darcy: writing cache %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("darcy: syncing cache %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("darcy: closing cache %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("darcy: installing cache %s: %w", path, err)
	}
	return nil
}

// findCache reads the set of n samples from the cache: the exact file if it
// exists, otherwise the first n samples of a larger cached set with the same
// resolution, split and seed (samples are drawn per index, so a prefix of a
// larger set is exactly the smaller set).
func findCache(dir string, r Resolution, sp Stream, n int, seed int64) (*Set, string, error) {
	path := CachePath(dir, r, sp, n, seed)
	set, err := readCache(path, r, sp, n, seed)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return set, path, err
	}
	pattern := filepath.Join(dir, "darcy", fmt.Sprintf("darcy-%s-%s-n*-seed%d.bin.zst", r, sp, seed))
	matches, _ := filepath.Glob(pattern)
	best, bestN := "", 0
	for _, m := range matches {
		var k int
		var sd int64
		if _, err := fmt.Sscanf(filepath.Base(m), "darcy-"+r.String()+"-"+sp.String()+"-n%d-seed%d.bin.zst", &k, &sd); err != nil || sd != seed {
			continue
		}
		if k > n && (best == "" || k < bestN) {
			best, bestN = m, k
		}
	}
	if best == "" {
		return nil, path, err
	}
	big, err := readCache(best, r, sp, bestN, seed)
	if err != nil {
		return nil, path, err
	}
	m := n * big.S * big.S
	return &Set{N: n, S: big.S, A: big.A[:m:m], U: big.U[:m:m]}, best, nil
}

// readCache reads a set written by writeCache and checks it matches the key.
func readCache(path string, r Resolution, sp Stream, n int, seed int64) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("darcy: reading cache %s: %w", path, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<20)
	var h cacheHeader
	if err := binary.Read(br, binary.LittleEndian, &h); err != nil {
		return nil, fmt.Errorf("darcy: reading cache header %s: %w", path, err)
	}
	if h.Magic != cacheMagic || h.Resolution != int32(r) || h.Stream != int32(sp) || h.N != int64(n) || h.Seed != seed || h.S != OutSize {
		return nil, fmt.Errorf("darcy: cache %s does not match (resolution %v, %s, n %d, seed %d)", path, r, sp, n, seed)
	}
	m := n * OutSize * OutSize
	s := &Set{N: n, S: OutSize, A: make([]float32, m), U: make([]float32, m)}
	ab := make([]byte, m)
	if _, err := io.ReadFull(br, ab); err != nil {
		return nil, fmt.Errorf("darcy: reading cache %s: %w", path, err)
	}
	for i, v := range ab {
		if v == 1 {
			s.A[i] = APos
		} else {
			s.A[i] = ANeg
		}
	}
	buf := make([]byte, 4*m)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, fmt.Errorf("darcy: reading cache %s: %w", path, err)
	}
	for i := range s.U {
		s.U[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return s, nil
}
