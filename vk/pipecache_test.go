//go:build cgo

package vk

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// logCapture collects slog records while a test runs.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func runSomeOps(t *testing.T, be *Backend) {
	t.Helper()
	r := rand.New(rand.NewSource(4))
	a := mkpair(be, randSlice(r, 777, -1, 1))
	o := mkpair(be, make([]float32, 777))
	be.Unary(tensor.OpSigmoid, o.g, a.g, a.n, 0, 0)
	ref.Unary(tensor.OpSigmoid, o.c, a.c, a.n, 0, 0)
	o.check(t, be, "sigmoid", 1e-6, 1e-5)
	a.free(be)
	o.free(be)
}

// The pipeline cache is written at Close (atomically, with our header),
// loaded by the next Open, and a corrupt or foreign file is ignored with a
// log line and replaced.
func TestPipelineCacheOnDisk(t *testing.T) {
	testDevice(t)
	dir := t.TempDir()
	open := func() *Backend {
		be, err := New(Options{Device: testDevice(t), Validate: os.Getenv("DASH_VK_VALIDATE") != "0", PipelineCacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return be
	}
	closeBE := func(be *Backend) {
		if err := be.Close(); err != nil {
			t.Fatal(err)
		}
		checkValidation(t)
	}
	be := open()
	path := be.c.pipes.disk.path
	if be.c.pipes.disk.loaded != 0 {
		t.Fatalf("fresh dir: %d bytes loaded", be.c.pipes.disk.loaded)
	}
	runSomeOps(t, be)
	closeBE(be)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cache file after Close: %v", err)
	}
	if !bytes.HasPrefix(file, []byte(pcMagic)) || len(file) <= pcHeader {
		t.Fatalf("cache file of %d bytes without our header", len(file))
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".pipelines-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}

	be = open()
	if be.c.pipes.disk.loaded != len(file)-pcHeader {
		t.Errorf("reopen loaded %d bytes, want %d", be.c.pipes.disk.loaded, len(file)-pcHeader)
	}
	runSomeOps(t, be)
	closeBE(be)

	for _, tc := range []struct {
		name, reason string
		mangle       func([]byte) []byte
	}{
		{"flipped data byte", "checksum", func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }},
		{"truncated", "file has", func(b []byte) []byte { return b[:len(b)-10] }},
		{"other device", "another device", func(b []byte) []byte { b[12] ^= 1; return b }},
		{"garbage", "magic", func(b []byte) []byte { return []byte("not a cache at all, definitely longer than the header") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.mangle(bytes.Clone(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			logs := &logCapture{}
			old := slog.Default()
			slog.SetDefault(slog.New(logs))
			be := open()
			slog.SetDefault(old)
			if be.c.pipes.disk.loaded != 0 {
				t.Errorf("%d bytes loaded from a bad file", be.c.pipes.disk.loaded)
			}
			if len(logs.msgs) != 1 || !strings.Contains(logs.msgs[0], "ignoring the pipeline cache") || !strings.Contains(logs.msgs[0], tc.reason) {
				t.Errorf("log lines %q, want one about ignoring the cache (%s)", logs.msgs, tc.reason)
			}
			runSomeOps(t, be)
			closeBE(be)
			again, _ := os.ReadFile(path)
			if _, err := (&pipelineCache{c: be.c}).parse(again); err != nil {
				t.Errorf("the bad file was not replaced by a valid one: %v", err)
			}
		})
	}
}

// Pipelines compile without the context lock: another goroutine records
// and reads while the first compiles, and both get right results.
func TestCompileOutsideLock(t *testing.T) {
	be := newTestBackend(t, Options{PipelineCacheDir: t.TempDir()})
	var wg sync.WaitGroup
	ops := []tensor.UnaryOp{tensor.OpExp, tensor.OpLog, tensor.OpSqrt, tensor.OpAbs, tensor.OpTanh, tensor.OpSigmoid}
	for gi, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(gi)))
			a := mkpair(be, randSlice(r, 3000+gi, 0.1, 2))
			o := mkpair(be, make([]float32, 3000+gi))
			be.Unary(op, o.g, a.g, a.n, 0, 0)
			ref.Unary(op, o.c, a.c, a.n, 0, 0)
			o.check(t, be, "unary", 1e-5, 1e-5)
			a.free(be)
			o.free(be)
		}()
	}
	wg.Wait()
	if st := be.Context().Stats(); st.Pipelines < len(ops) {
		t.Errorf("%d pipelines for %d ops", st.Pipelines, len(ops))
	}
}
