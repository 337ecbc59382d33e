package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distsys-go/orders/platform/events"
)

// TestEventVersionsAgree: the chart's event versions (orders.eventVersions)
// are the code's (events.Versions), each with the subject and durable the
// code derives from SUBJECT and QUEUE_GROUP: the provision Job makes every
// one, the NATS users may use every one, and KEDA scales on the durables
// of the versions the consumers read.
func TestEventVersionsAgree(t *testing.T) {
	cases := []struct {
		name           string
		sets           []string
		subject, group string
		consumed       []string // consumer.versions; nil: all
	}{
		{name: "defaults", subject: "orders.created", group: "fulfilment-workers"},
		{name: "renamed", sets: []string{"common.subject=shop.orders", "consumer.queueGroup=workers", "stream.subjects={shop.>}",
			"consumer.deadLetterSubject=shop.dead"}, subject: "shop.orders", group: "workers"},
		{name: "consumers on v2 only", sets: []string{"consumer.versions={v2}"}, subject: "orders.created", group: "fulfilment-workers",
			consumed: []string{"v2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rendered := mustRender(t, append([]string{"consumer.keda.enabled=true"}, c.sets...)...)
			objs := objects(t, rendered)
			var triggers []string
			for _, tr := range get(mustFind(t, objs, "ScaledObject", "orders-consumer"), "spec", "triggers").([]any) {
				triggers = append(triggers, str(tr, "metadata", "consumer"))
			}
			var wantTriggers, consumed []string
			for _, v := range events.Versions {
				perm := fmt.Sprintf("$JS.API.CONSUMER.CREATE.ORDERS.%s.%s", v.Durable(c.group), v.Subject(c.subject))
				if !strings.Contains(rendered, `"`+perm+`"`) {
					t.Errorf("%s: no NATS user may create %s", v.Name, perm)
				}
				if !strings.Contains(rendered, `"`+v.Subject(c.subject)+`"`) {
					t.Errorf("%s: no NATS user may publish on %s", v.Name, v.Subject(c.subject))
				}
				if c.consumed == nil || slices.Contains(c.consumed, v.Name) {
					wantTriggers, consumed = append(wantTriggers, v.Durable(c.group)), append(consumed, v.Name)
				}
			}
			if !slices.Equal(triggers, wantTriggers) {
				t.Errorf("KEDA triggers on %v, want %v", triggers, wantTriggers)
			}
			envs := map[string]string{}
			for _, o := range objs {
				if o.kind() != "Job" && !(o.kind() == "Deployment" && o.name() == "orders-consumer") {
					continue
				}
				env, _ := containerEnv(t, containers(o)[0])
				envs[o.kind()] = env["CONSUME_VERSIONS"].value
			}
			if want := strings.Join(events.VersionNames(), ","); envs["Job"] != want {
				t.Errorf("the provision Job's CONSUME_VERSIONS=%q, want every version %q", envs["Job"], want)
			}
			if want := strings.Join(consumed, ","); envs["Deployment"] != want {
				t.Errorf("the consumers' CONSUME_VERSIONS=%q, want %q", envs["Deployment"], want)
			}
		})
	}
}

// TestVersionValuesAgree: the values that name versions
// (producer.eventVersion, consumer.versions) accept exactly the code's.
func TestVersionValuesAgree(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			Properties map[string]struct {
				Enum  []string
				Items struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	want := events.VersionNames()
	if got := schema.Properties["producer"].Properties["eventVersion"].Enum; !slices.Equal(got, want) {
		t.Errorf("producer.eventVersion takes %v, the code knows %v", got, want)
	}
	if got := schema.Properties["consumer"].Properties["versions"].Items.Enum; !slices.Equal(got, want) {
		t.Errorf("consumer.versions takes %v, the code knows %v", got, want)
	}
}
