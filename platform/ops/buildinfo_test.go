package ops_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/distsys-go/orders/platform/ops"
)

func TestBuildInfo(t *testing.T) {
	reg := ops.NewRegistry()
	reg.MustRegister(ops.NewBuildInfo("1.2.3"))
	want := `# HELP orders_build_info Always 1; the labels say which build of the service this replica runs.
# TYPE orders_build_info gauge
orders_build_info{goversion="` + runtime.Version() + `",version="1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orders_build_info"); err != nil {
		t.Error(err)
	}
}
