package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/dash-go/dash/datasets/darcy"
)

// DataDirEnv names the environment variable pointing at a directory into
// which Debian data packages were extracted with `dpkg-deb -x PKG.deb DIR`
// (so that DIR/usr/lib/R/site-library/... exists). Packages that cannot be
// installed without pulling in R (r-bioc-biostrings, r-cran-mlbench) are
// read from there, or from cacheDir/debian when it is unset.
const DataDirEnv = "DASH_DATA_DIR"

// rSiteLibrary is where Debian installs R packages.
const rSiteLibrary = "usr/lib/R/site-library"

// cacheRoot is LoadOptions.CacheDir, else $DASH_CACHE, else
// os.UserCacheDir()/dash.
func cacheRoot(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	d, err := darcy.DefaultCacheDir()
	if err != nil {
		return "", fmt.Errorf("datasets: %w", err)
	}
	return d, nil
}

// debCandidates lists where the file rel (relative to the root of a Debian
// package's file tree, e.g. usr/lib/R/site-library/mlbench/data/DNA.rda) is
// looked for, in order: $DASH_DATA_DIR/rel, $DASH_DATA_DIR/<base of rel
// under site-library>, cache/debian/rel, and /rel (the package installed).
func debCandidates(rel string) []string {
	var c []string
	if d := os.Getenv(DataDirEnv); d != "" {
		c = append(c, filepath.Join(d, rel))
		if r, ok := strings.CutPrefix(rel, rSiteLibrary+"/"); ok {
			c = append(c, filepath.Join(d, r))
		}
	}
	if root, err := cacheRoot(""); err == nil {
		c = append(c, filepath.Join(root, "debian", rel))
	}
	c = append(c, filepath.Join(string(filepath.Separator), rel))
	return c
}

// findDebFile returns the first existing candidate for rel, or an error
// naming the Debian package and the commands that provide the file.
func findDebFile(pkg, rel string) (string, error) {
	cands := debCandidates(rel)
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	dest := "${DASH_CACHE:-$HOME/.cache/dash}/debian"
	if d := os.Getenv(DataDirEnv); d != "" {
		dest = d
	}
	return "", fmt.Errorf("datasets: %s not found (looked in %s): it ships in the Debian package %s; extract it without installing R: `apt-get download %s && dpkg-deb -x %s_*.deb %s` (or set %s to a directory it was extracted into): %w",
		filepath.Base(rel), strings.Join(cands, ", "), pkg, pkg, pkg, dest, DataDirEnv, fs.ErrNotExist)
}

// The derived-data cache: magic, a key line naming what the payload was
// derived from, and the zstd-compressed payload.
const cacheMagic = "DASHDERIVED1\n"

// readDerived returns the cached payload at path if its key matches.
func readDerived(path, key string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(b, []byte(cacheMagic))
	if !ok {
		return nil, false
	}
	k, body, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok || string(k) != key {
		return nil, false
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		return nil, false
	}
	defer dec.Close()
	out, err := dec.DecodeAll(body, nil)
	if err != nil {
		return nil, false
	}
	return out, true
}

// writeDerived writes the payload atomically (temporary file + rename), so a
// reader never sees a partial cache file.
func writeDerived(path, key string, payload []byte) (err error) {
	if strings.Contains(key, "\n") {
		return fmt.Errorf("datasets: cache key %q has a newline", key)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("datasets: creating cache directory (set DASH_CACHE to a writable directory): %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("datasets: creating cache file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return fmt.Errorf("datasets: cache compressor: %w", err)
	}
	body := enc.EncodeAll(payload, nil)
	enc.Close()
	if _, err = io.WriteString(f, cacheMagic+key+"\n"); err != nil {
		return fmt.Errorf("datasets: writing cache %s: %w", path, err)
	}
	if _, err = f.Write(body); err != nil {
		return fmt.Errorf("datasets: writing cache %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("datasets: closing cache %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("datasets: installing cache %s: %w", path, err)
	}
	return nil
}

// sourceKey identifies a source file by path, size and modification time.
func sourceKey(version int, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("datasets: %w", err)
	}
	return fmt.Sprintf("v%d %s %d %d", version, path, st.Size(), st.ModTime().UnixNano()), nil
}

// payload is a tiny length-checked binary encoding for cached arrays.
type payload struct {
	b   []byte
	off int
	err error
}

func (p *payload) putU32(v uint32)    { p.b = binary.LittleEndian.AppendUint32(p.b, v) }
func (p *payload) putBytes(b []byte)  { p.putU32(uint32(len(b))); p.b = append(p.b, b...) }
func (p *payload) putString(s string) { p.putBytes([]byte(s)) }

func (p *payload) u32() uint32 {
	if p.err != nil {
		return 0
	}
	if len(p.b)-p.off < 4 {
		p.err = errors.New("datasets: truncated cache payload")
		return 0
	}
	v := binary.LittleEndian.Uint32(p.b[p.off:])
	p.off += 4
	return v
}

func (p *payload) bytes() []byte {
	n := int(p.u32())
	if p.err != nil {
		return nil
	}
	if n < 0 || len(p.b)-p.off < n {
		p.err = errors.New("datasets: truncated cache payload")
		return nil
	}
	b := p.b[p.off : p.off+n]
	p.off += n
	return b
}

func (p *payload) string() string { return string(p.bytes()) }

// oneHotDNA writes the 4×L channels-first one-hot encoding (A, C, G, T) of
// seq into x (length 4·len(seq)); other letters (N) are all zero.
func oneHotDNA(x []float32, seq []byte) {
	l := len(seq)
	for i, c := range seq {
		switch c {
		case 'A', 'a':
			x[i] = 1
		case 'C', 'c':
			x[l+i] = 1
		case 'G', 'g':
			x[2*l+i] = 1
		case 'T', 't':
			x[3*l+i] = 1
		}
	}
}

// openMaybeGzip opens path for reading, through gzip when it ends in ".gz";
// the returned func closes both.
func openMaybeGzip(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}
