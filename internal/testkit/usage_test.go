package testkit

import "testing"

func TestParseStatusMB(t *testing.T) {
	const status = "Name:\tconsumer\nVmPeak:\t 1300000 kB\nVmHWM:\t   25600 kB\nVmRSS:\t   17920 kB\nRssAnon:\t 8000 kB\n"
	tests := []struct {
		name, status, field string
		want                float64
		ok                  bool
	}{
		{"VmRSS", status, "VmRSS", 17.5, true},
		{"VmHWM", status, "VmHWM", 25, true},
		{"no VmRSS", "Name:\tconsumer\n", "VmRSS", 0, false},
		{"garbled", "VmRSS:\t lots kB\n", "VmRSS", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusMB(tt.status, tt.field)
			if got != tt.want || (err == nil) != tt.ok {
				t.Fatalf("parseStatusMB(%s) = %v, %v; want %v, ok %v", tt.field, got, err, tt.want, tt.ok)
			}
		})
	}
}
