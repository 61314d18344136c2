package gencache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

func rec(i int, b []byte) error {
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	return nil
}

func TestLoadCachesAndServesPrefix(t *testing.T) {
	dir := t.TempDir()
	k := Key{Task: "t", Stream: "train", N: 100, Seed: 3, Version: 1, RecordSize: 5}
	o := Options{Dir: dir, Workers: 2}
	p1, from, err := Load(context.Background(), k, o, rec)
	if err != nil || from {
		t.Fatalf("first load: from cache %v, err %v", from, err)
	}
	for i := 0; i < k.N; i++ {
		want := make([]byte, 5)
		rec(i, want)
		if !bytes.Equal(p1[i*5:(i+1)*5], want) {
			t.Fatalf("record %d = %v, want %v", i, p1[i*5:(i+1)*5], want)
		}
	}
	before := Generated()
	p2, from, err := Load(context.Background(), k, o, rec)
	if err != nil || !from || !bytes.Equal(p1, p2) {
		t.Fatalf("second load: from cache %v, err %v, equal %v", from, err, bytes.Equal(p1, p2))
	}
	small := k
	small.N = 10
	p3, from, err := Load(context.Background(), small, o, rec)
	if err != nil || !from || !bytes.Equal(p3, p1[:50]) {
		t.Fatalf("prefix load: from cache %v, err %v", from, err)
	}
	if Generated() != before {
		t.Errorf("%d records generated despite the cache", Generated()-before)
	}
	// a different seed or version is not served by this file
	other := small
	other.Seed = 4
	if _, _, err := Find(dir, other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("other seed: err %v, want not exist", err)
	}
}

func TestCorruptCacheRegenerated(t *testing.T) {
	dir := t.TempDir()
	k := Key{Task: "t", Stream: "test", N: 40, Seed: 1, Version: 2, RecordSize: 3}
	o := Options{Dir: dir}
	want, _, err := Load(context.Background(), k, o, rec)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(k.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{raw[:len(raw)/2], []byte("not zstd at all")} {
		if err := os.WriteFile(k.Path(dir), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Find(dir, k); err == nil || errors.Is(err, os.ErrNotExist) {
			t.Fatalf("corrupt file read without a corruption error: %v", err)
		}
		got, from, err := Load(context.Background(), k, o, rec)
		if err != nil || from || !bytes.Equal(got, want) {
			t.Fatalf("reload of a corrupt cache: from cache %v, err %v", from, err)
		}
		if _, from, err := Load(context.Background(), k, o, rec); err != nil || !from {
			t.Fatalf("cache not rewritten: from %v err %v", from, err)
		}
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := Key{Task: "t", Stream: "train", N: 1000, Seed: 0, Version: 1, RecordSize: 1}
	if _, _, err := Load(ctx, k, Options{NoCache: true}, rec); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestBadKey(t *testing.T) {
	for _, k := range []Key{{Stream: "x", RecordSize: 1}, {Task: "t", Stream: "x"}, {Task: "t", Stream: "x", N: -1, RecordSize: 1}} {
		if _, _, err := Load(context.Background(), k, Options{NoCache: true}, rec); err == nil {
			t.Errorf("key %+v accepted", k)
		}
	}
}
