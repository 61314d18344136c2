// Package gencache stores the generated built-in data sets (two-digit
// MNIST, spherical MNIST, Burgers, audio tags) on disk: one zstd-compressed
// file per set, written atomically (temporary file and rename), with a
// header naming what it holds and a CRC-32 of the payload, so that a
// truncated or corrupt file is detected and the set regenerated.
//
// A set is N fixed-size records produced by a generator that draws every
// record from its own index (and the seed), so the first n records of a
// larger cached set are exactly the set of n records; Load serves a smaller
// request from the smallest larger set it finds.
package gencache

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// DefaultDir returns $DASH_CACHE, or os.UserCacheDir()/dash.
func DefaultDir() (string, error) {
	if d := os.Getenv("DASH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("gencache: no cache directory (set DASH_CACHE): %w", err)
	}
	return filepath.Join(d, "dash"), nil
}

// Key identifies a generated set.
type Key struct {
	Task    string // e.g. "burgers"; also the cache subdirectory
	Stream  string // "train" or "test"
	N       int    // records
	Seed    int64
	Version int // bumped when the generator changes its output
	// RecordSize is the size of one record in bytes.
	RecordSize int
}

// Path is the cache file of k under dir.
func (k Key) Path(dir string) string {
	return filepath.Join(dir, k.Task, k.base(k.N))
}

func (k Key) base(n int) string {
	return fmt.Sprintf("%s-v%d-%s-n%d-seed%d.bin.zst", k.Task, k.Version, k.Stream, n, k.Seed)
}

var magic = [8]byte{'D', 'A', 'S', 'H', 'G', 'E', 'N', '1'}

// header is the fixed part of a cache file, before the payload.
type header struct {
	Magic      [8]byte
	Task       [32]byte
	Stream     [8]byte
	Version    int32
	RecordSize int32
	N          int64
	Seed       int64
}

func (k Key) header() header {
	h := header{Magic: magic, Version: int32(k.Version), RecordSize: int32(k.RecordSize), N: int64(k.N), Seed: k.Seed}
	copy(h.Task[:], k.Task)
	copy(h.Stream[:], k.Stream)
	return h
}

func (k Key) valid() error {
	switch {
	case k.Task == "" || len(k.Task) > 32:
		return fmt.Errorf("gencache: task name %q must have 1 to 32 bytes", k.Task)
	case k.Stream == "" || len(k.Stream) > 8:
		return fmt.Errorf("gencache: stream name %q must have 1 to 8 bytes", k.Stream)
	case k.N < 0:
		return fmt.Errorf("gencache: negative record count %d", k.N)
	case k.RecordSize <= 0:
		return fmt.Errorf("gencache: record size %d, want > 0", k.RecordSize)
	}
	return nil
}

// Write stores payload (k.N·k.RecordSize bytes) as the cache file of k:
// into a temporary file in the same directory, synced, then renamed.
func Write(dir string, k Key, payload []byte) (err error) {
	if err := k.valid(); err != nil {
		return err
	}
	if len(payload) != k.N*k.RecordSize {
		return fmt.Errorf("gencache: %s: payload has %d bytes, want %d·%d", k.Task, len(payload), k.N, k.RecordSize)
	}
	path := k.Path(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("gencache: creating cache directory (set DASH_CACHE to a writable directory): %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gencache: creating cache file (set DASH_CACHE to a writable directory): %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	zw, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return fmt.Errorf("gencache: zstd writer: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	h := k.header()
	if err := binary.Write(bw, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("gencache: writing %s: %w", path, err)
	}
	if _, err := bw.Write(payload); err != nil {
		return fmt.Errorf("gencache: writing %s: %w", path, err)
	}
	if err := binary.Write(bw, binary.LittleEndian, crc32.ChecksumIEEE(payload)); err != nil {
		return fmt.Errorf("gencache: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gencache: writing %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gencache: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("gencache: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gencache: closing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("gencache: installing %s: %w", path, err)
	}
	return nil
}

// read reads the cache file at path, which must hold n records of k.
func read(path string, k Key, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("gencache: reading %s: %w", path, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<20)
	var h header
	if err := binary.Read(br, binary.LittleEndian, &h); err != nil {
		return nil, fmt.Errorf("gencache: reading header of %s: %w", path, err)
	}
	kk := k
	kk.N = n
	if want := kk.header(); h != want {
		return nil, fmt.Errorf("gencache: %s holds a different set (header %+v, want %+v)", path, h, want)
	}
	payload := make([]byte, n*k.RecordSize)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, fmt.Errorf("gencache: reading %s: truncated: %w", path, err)
	}
	var sum uint32
	if err := binary.Read(br, binary.LittleEndian, &sum); err != nil {
		return nil, fmt.Errorf("gencache: reading checksum of %s: %w", path, err)
	}
	if got := crc32.ChecksumIEEE(payload); got != sum {
		return nil, fmt.Errorf("gencache: %s is corrupt: CRC-32 %08x, stored %08x", path, got, sum)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("gencache: %s has trailing data", path)
	}
	return payload, nil
}

// Find reads the records of k from dir: the exact file, else the first k.N
// records of the smallest larger set with the same task, stream, version
// and seed. It returns the file used; the error wraps os.ErrNotExist when no
// file exists.
func Find(dir string, k Key) ([]byte, string, error) {
	path := k.Path(dir)
	p, err := read(path, k, k.N)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return p, path, err
	}
	matches, _ := filepath.Glob(filepath.Join(dir, k.Task, fmt.Sprintf("%s-v%d-%s-n*-seed%d.bin.zst", k.Task, k.Version, k.Stream, k.Seed)))
	best, bestN := "", 0
	for _, m := range matches {
		var n int
		var seed int64
		if _, err := fmt.Sscanf(filepath.Base(m), fmt.Sprintf("%s-v%d-%s-n%%d-seed%%d.bin.zst", k.Task, k.Version, k.Stream), &n, &seed); err != nil || seed != k.Seed || k.base(n) != filepath.Base(m) {
			continue
		}
		if n > k.N && (best == "" || n < bestN) {
			best, bestN = m, n
		}
	}
	if best == "" {
		return nil, path, err
	}
	big, err := read(best, k, bestN)
	if err != nil {
		return nil, best, err
	}
	m := k.N * k.RecordSize
	return big[:m:m], best, nil
}

// RecordFunc fills rec (RecordSize bytes) with record i.
type RecordFunc func(i int, rec []byte) error

// Options controls Load.
type Options struct {
	Dir      string    // cache directory; "" means DefaultDir()
	NoCache  bool      // neither read nor write the cache
	Workers  int       // parallel generators; 0 means GOMAXPROCS
	Progress io.Writer // progress lines (may be nil); also logged with slog
}

// generated counts the records this process has generated; tests use it to
// check that the cache is used.
var generated atomic.Int64

// Generated returns how many records this process has generated.
func Generated() int64 { return generated.Load() }

// Load returns the k.N records of k from the cache, or generates them with
// gen (in parallel, cancellable through ctx, with progress about every
// second) and writes the cache. An unreadable or corrupt cache file is
// logged and regenerated; a cache that cannot be written is logged (it costs
// time later, not correctness). fromCache says whether the cache served it.
func Load(ctx context.Context, k Key, o Options, gen RecordFunc) (payload []byte, fromCache bool, err error) {
	if err := k.valid(); err != nil {
		return nil, false, err
	}
	dir := o.Dir
	if dir == "" && !o.NoCache {
		if dir, err = DefaultDir(); err != nil {
			slog.Warn("gencache: generating without a cache", "task", k.Task, "err", err)
			o.NoCache = true
		}
	}
	if !o.NoCache {
		p, from, err := Find(dir, k)
		if err == nil {
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "%s %s: %d records from cache %s\n", k.Task, k.Stream, k.N, from)
			}
			return p, true, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			slog.Warn("gencache: ignoring unusable cache file, regenerating", "path", from, "err", err)
		}
	}
	payload, err = generate(ctx, k, o, gen)
	if err != nil {
		return nil, false, err
	}
	if !o.NoCache {
		if err := Write(dir, k, payload); err != nil {
			slog.Warn("gencache: could not write cache", "path", k.Path(dir), "err", err)
		}
	}
	return payload, false, nil
}

func generate(ctx context.Context, k Key, o Options, gen RecordFunc) ([]byte, error) {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	payload := make([]byte, k.N*k.RecordSize)
	var (
		mu    sync.Mutex
		done  int
		start = time.Now()
		last  = start
	)
	report := func(final bool) {
		now := time.Now()
		if !final && now.Sub(last) < 2*time.Second {
			return
		}
		last = now
		el := now.Sub(start)
		eta := time.Duration(0)
		if done > 0 {
			eta = time.Duration(float64(el) / float64(done) * float64(k.N-done))
		}
		slog.Info("generating", "task", k.Task, "set", k.Stream, "done", done, "of", k.N, "elapsed", el.Round(100*time.Millisecond), "eta", eta.Round(time.Second))
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s %s: %d/%d generated, elapsed %s, ETA %s\n", k.Task, k.Stream, done, k.N, el.Round(100*time.Millisecond), eta.Round(time.Second))
		}
	}
	// Records are handed out in chunks so that cheap generators are not
	// dominated by scheduling.
	chunk := 1
	if k.N > 64*workers {
		chunk = 16
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for lo := 0; lo < k.N; lo += chunk {
		if gctx.Err() != nil {
			break
		}
		hi := min(lo+chunk, k.N)
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := gen(i, payload[i*k.RecordSize:(i+1)*k.RecordSize]); err != nil {
					return fmt.Errorf("record %d: %w", i, err)
				}
			}
			generated.Add(int64(hi - lo))
			mu.Lock()
			done += hi - lo
			report(false)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("gencache: generating %s %s set: %w", k.Task, k.Stream, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gencache: generating %s %s set: %w", k.Task, k.Stream, err)
	}
	if time.Since(start) > time.Second {
		report(true)
	}
	return payload, nil
}

// PutFloat32s writes v little-endian into b (4·len(v) bytes).
func PutFloat32s(b []byte, v []float32) {
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
}

// Float32s reads len(v) little-endian float32 values from b into v.
func Float32s(v []float32, b []byte) {
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
