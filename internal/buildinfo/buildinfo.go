// Package buildinfo says which build of Rosetta is running: its version,
// commit, Go version and the CPU features its kernels use.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/cpu"

	"rosetta/kernels"
)

// Version is set at link time (-ldflags "-X rosetta/internal/buildinfo.Version=v1.2.3");
// "dev" otherwise.
var Version = "dev"

// Info is what `rosetta version` prints and GET /v1/version answers.
type Info struct {
	Version   string   `json:"version"`
	Commit    string   `json:"commit"` // VCS revision, "+dirty" when modified; "" when unknown
	GoVersion string   `json:"go_version"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	Kernels   string   `json:"kernels"`      // the distance kernels selected: avx512, avx2 or generic
	CPU       []string `json:"cpu_features"` // SIMD features detected on this CPU
}

// Get returns the running build's Info.
func Get() Info {
	in := Info{Version: Version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Kernels: kernels.Impl(), CPU: []string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && in.Commit != "" {
			in.Commit += "+dirty"
		}
	}
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"sse4.2", cpu.X86.HasSSE42}, {"avx", cpu.X86.HasAVX}, {"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA},
		{"f16c", cpu.X86.HasF16C}, {"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW},
		{"avx512vnni", cpu.X86.HasAVX512VNNI}, {"avx512vpopcntdq", cpu.X86.HasAVX512VPOPCNTDQ},
		{"neon", cpu.ARM64.HasASIMD}, {"asimddp", cpu.ARM64.HasASIMDDP},
	} {
		if f.has {
			in.CPU = append(in.CPU, f.name)
		}
	}
	return in
}
