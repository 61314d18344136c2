//go:build cgo

package vk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"unsafe"
)

// The VkPipelineCache is persisted across runs so that a run does not
// recompile every pipeline: loaded at Open from
//
//	<dir>/pipelines-<vendor>-<device>-<pipelineCacheUUID>.bin
//
// (dir: Options.PipelineCacheDir, DASH_VK_PIPELINE_CACHE, or
// os.UserCacheDir()/dash) and written back at Close when pipelines were
// created, atomically (a temporary file in the same directory, then
// rename). The file is our header followed by the driver's data:
//
//	magic "DASHVKPC" | version u32 | vendorID u32 | deviceID u32 |
//	driverVersion u32 | pipelineCacheUUID [16]byte | data length u64 |
//	CRC-32 (IEEE) of data u32 | data
//
// A file that does not match this device and driver, is truncated or fails
// its checksum is ignored with a log line (slog.Warn) and replaced at
// Close; the driver validates its own header inside the data again.

const (
	pcMagic   = "DASHVKPC"
	pcVersion = 1
	pcHeader  = 8 + 4*4 + 16 + 8 + 4
)

type diskCache struct {
	path   string
	handle unsafe.Pointer // VkPipelineCache (nil: none)
	loaded int            // bytes of driver data loaded from the file
	dirty  bool           // pipelines were created since the load
}

// pipelineCacheDir resolves the directory ("" disables persistence).
func pipelineCacheDir(opt string) string {
	if opt != "" {
		return opt
	}
	switch v := os.Getenv("DASH_VK_PIPELINE_CACHE"); v {
	case "off", "-", "0":
		return ""
	case "":
	default:
		return v
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "dash")
}

func (pc *pipelineCache) headerFor(n int, sum uint32) []byte {
	info := pc.c.info
	var b bytes.Buffer
	b.WriteString(pcMagic)
	for _, v := range []uint32{pcVersion, info.VendorID, info.DeviceID, info.DriverVersion} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.Write(info.PipelineCacheUUID[:])
	_ = binary.Write(&b, binary.LittleEndian, uint64(n))
	_ = binary.Write(&b, binary.LittleEndian, sum)
	return b.Bytes()
}

// parsePipelineCache checks a file's header against the device and returns
// the driver data.
func (pc *pipelineCache) parse(file []byte) ([]byte, error) {
	if len(file) < pcHeader {
		return nil, fmt.Errorf("%d bytes, shorter than the %d-byte header", len(file), pcHeader)
	}
	if string(file[:8]) != pcMagic {
		return nil, errors.New("not a dash pipeline cache (bad magic)")
	}
	n := binary.LittleEndian.Uint64(file[pcHeader-12:])
	sum := binary.LittleEndian.Uint32(file[pcHeader-4:])
	data := file[pcHeader:]
	if uint64(len(data)) != n {
		return nil, fmt.Errorf("header says %d bytes of data, file has %d", n, len(data))
	}
	if !bytes.Equal(file[:pcHeader], pc.headerFor(int(n), sum)) {
		return nil, errors.New("written for another device, driver or format version")
	}
	if crc32.ChecksumIEEE(data) != sum {
		return nil, errors.New("checksum mismatch (corrupt)")
	}
	return data, nil
}

// openDisk creates the VkPipelineCache, seeded from dir's file when it is
// valid. Errors only lose the cache, never the context.
func (pc *pipelineCache) openDisk(dir string) {
	info := pc.c.info
	var data []byte
	if dir != "" {
		pc.disk.path = filepath.Join(dir, fmt.Sprintf("pipelines-%04x-%04x-%x.bin", info.VendorID, info.DeviceID, info.PipelineCacheUUID))
		switch file, err := os.ReadFile(pc.disk.path); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			slog.Warn("vk: ignoring the pipeline cache", "file", pc.disk.path, "err", err)
		default:
			if data, err = pc.parse(file); err != nil {
				slog.Warn("vk: ignoring the pipeline cache", "file", pc.disk.path, "reason", err)
			}
		}
	}
	h, err := pc.c.fns.createPipelineCache(data)
	if err != nil && len(data) > 0 {
		slog.Warn("vk: the driver refused the pipeline cache; starting empty", "file", pc.disk.path, "err", err)
		data = nil
		h, err = pc.c.fns.createPipelineCache(nil)
	}
	if err != nil {
		slog.Warn("vk: no pipeline cache", "err", err)
		return
	}
	pc.disk.handle = h
	pc.disk.loaded = len(data)
}

// saveDisk writes the cache back when pipelines were created, then
// destroys the VkPipelineCache.
func (pc *pipelineCache) saveDisk() {
	d := &pc.disk
	if d.handle == nil {
		return
	}
	defer func() {
		pc.c.fns.destroyPipelineCache(d.handle)
		d.handle = nil
	}()
	if d.path == "" || !d.dirty {
		return
	}
	data := pc.c.fns.pipelineCacheData(d.handle)
	if len(data) == 0 {
		return
	}
	if err := writeAtomic(d.path, append(pc.headerFor(len(data), crc32.ChecksumIEEE(data)), data...)); err != nil {
		slog.Warn("vk: cannot save the pipeline cache", "file", d.path, "err", err)
	}
}

// writeAtomic writes path through a temporary file in the same directory
// and a rename, so a reader never sees a partial file.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".pipelines-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}
