package chart

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// TestDashboardStrict: the chart's dashboard decodes strictly with the
// Grafana Foundation SDK (every field Grafana's schema requires present,
// none it does not know, each of the right type, the panels' and the
// queries' plugin options included) and passes the SDK's validation.
func TestDashboardStrict(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "dashboards", "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard.Dashboard
	if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
		t.Fatalf("strict decode of dashboards/orders.json: %v", err)
	}
	if err := sdkErr(d.Validate()); err != nil {
		t.Fatalf("dashboards/orders.json: %v", err)
	}
	if len(d.Panels) == 0 || d.Uid == nil || *d.Uid != "orders-pipeline" {
		t.Errorf("decoded %d panels, uid %v: not the chart's dashboard", len(d.Panels), d.Uid)
	}
}

// sdkErr is err, but nil for an empty cog.BuildErrors: the SDK returns
// its error list typed even when it holds none.
func sdkErr(err error) error {
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}
