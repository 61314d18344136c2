package vk

import (
	"errors"
	"strings"
	"testing"
)

func TestChooseFrom(t *testing.T) {
	lavapipe := DeviceInfo{Index: 0, Name: "llvmpipe", Type: TypeCPU}
	igpu := DeviceInfo{Index: 1, Name: "Intel", Type: TypeIntegrated}
	dgpu := DeviceInfo{Index: 2, Name: "NVIDIA", Type: TypeDiscrete}
	noq := DeviceInfo{Index: 3, Name: "NoCompute", Type: TypeDiscrete, ComputeQueueFamily: -1}
	all := []DeviceInfo{lavapipe, igpu, dgpu, noq}
	cases := []struct {
		spec    string
		devs    []DeviceInfo
		err     error
		want    string
		wantErr bool
		reason  string
	}{
		{"", all, nil, "vulkan:2", false, "NVIDIA"},
		{"auto", []DeviceInfo{lavapipe, igpu}, nil, "vulkan:1", false, "Intel"},
		{"", []DeviceInfo{lavapipe}, nil, "cpu", false, "CPU implementations"},
		{"vulkan", []DeviceInfo{lavapipe}, nil, "vulkan:0", false, "llvmpipe"},
		{"vulkan:0", all, nil, "vulkan:0", false, "requested"},
		{"vulkan:9", all, nil, "", true, ""},
		{"vulkan:3", all, nil, "", true, ""},
		{"cpu", all, nil, "cpu", false, "requested"},
		{"", nil, errors.New("no Vulkan loader"), "cpu", false, "no Vulkan loader"},
		{"vulkan", nil, errors.New("no Vulkan loader"), "", true, ""},
		{"", nil, nil, "cpu", false, "no Vulkan device"},
		{"tpu", all, nil, "", true, ""},
	}
	for _, c := range cases {
		ch, reason, err := ChooseFrom(c.spec, c.devs, c.err)
		if (err != nil) != c.wantErr {
			t.Errorf("ChooseFrom(%q): err %v, wantErr %v", c.spec, err, c.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if ch.String() != c.want || !strings.Contains(reason, c.reason) {
			t.Errorf("ChooseFrom(%q) = %s (%q), want %s containing %q", c.spec, ch, reason, c.want, c.reason)
		}
	}
}

func TestDevicesAndChoose(t *testing.T) {
	devs, err := Devices()
	if err != nil {
		if envOn("DASH_REQUIRE_VULKAN") {
			t.Fatalf("Devices: %v", err)
		}
		t.Skipf("no Vulkan (Devices: %v); set DASH_REQUIRE_VULKAN=1 to make this a failure", err)
	}
	for _, d := range devs {
		t.Logf("%s", d)
		if d.MaxStorageBufferRange == 0 || d.MaxComputeWorkGroupInvocations == 0 || len(d.HeapSizes) == 0 {
			t.Errorf("device %d: limits not filled in: %+v", d.Index, d)
		}
	}
	ch, reason, err := Choose("")
	t.Logf("default choice: %s (%s), err %v", ch, reason, err)
	if reason == "" {
		t.Error("Choose gave no reason")
	}
}
