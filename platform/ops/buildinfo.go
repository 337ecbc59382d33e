package ops

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// NewBuildInfo returns orders_build_info, a gauge that is always 1 and
// carries the service's version and the Go version it was built with as
// labels, so dashboards can show which build each replica runs and
// queries can join on it (… * on(pod) group_left(version) orders_build_info).
func NewBuildInfo(version string) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "orders_build_info",
		Help:        "Always 1; the labels say which build of the service this replica runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}
