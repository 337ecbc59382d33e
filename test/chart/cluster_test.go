package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// TestNATSClusterRoutesNeedCredentials runs the three servers of the
// rendered cluster with auth on, then a server from outside the release
// that routes to the first of them: without the credentials it is refused
// and none of the three has a route to it; with them (the control, so the
// refusal is about the credentials and nothing else) it joins.
func TestNATSClusterRoutesNeedCredentials(t *testing.T) {
	natsServer := tool(t, "nats-server", "tools")
	objs := objects(t, mustRender(t, "nats.cluster.enabled=true", "nats.auth.enabled=true", "nats.auth.password=r0ute:S3cret!"))
	sec := secrets(objs)
	nats := renderedNATS(t, objs, sec)
	nats.start(t, natsServer)

	// The cluster is whole: every server routes to the other two.
	for _, s := range nats.servers {
		testkit.Eventually(t, s.pod+" routes to every other server", 30*time.Second, testkit.NoError(func() error {
			names, err := routeNames(t, s.http)
			if err != nil {
				return err
			}
			for _, o := range nats.servers {
				if o.pod != s.pod && !names[o.pod] {
					return fmt.Errorf("routes to %v, not to %s", sortedKeys(names), o.pod)
				}
			}
			return nil
		}))
	}

	user, pass := sec[name("nats-auth")+"/NATS_USER"], sec[name("nats-auth")+"/NATS_PASSWORD"]
	seed := nats.servers[0]
	cases := []struct {
		name, creds string
		joins       bool
	}{
		{"intruder-without-credentials", "", false},
		{"member-with-credentials", user + ":" + pass + "@", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "nats.conf")
			ports := natstest.FreePorts(t, 3)
			cfg := fmt.Sprintf(`server_name: %q
port: %d
http_port: %d
cluster {
  name: "orders-nats"
  port: %d
  routes: [%q]
}
`, c.name, ports[0], ports[1], ports[2], fmt.Sprintf("nats://%s127.0.0.1:%d", c.creds, seed.route))
			if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			p := testkit.Start(t, natsServer, nil, testkit.Name(c.name), testkit.Args("-c", conf))
			if c.joins {
				testkit.Eventually(t, "the seed routes to "+c.name, 30*time.Second, testkit.NoError(func() error {
					names, err := routeNames(t, seed.http)
					if err == nil && !names[c.name] {
						err = fmt.Errorf("routes to %v only", sortedKeys(names))
					}
					return err
				}))
				return
			}
			// Refused: its log shows the violation, and no server of the
			// release ever lists it (checked on every poll, so a route that
			// got in fails at once).
			testkit.Eventually(t, c.name+" is refused", 30*time.Second, testkit.NoError(func() error {
				for _, s := range nats.servers {
					names, err := routeNames(t, s.http)
					if err != nil {
						return err
					}
					if names[c.name] {
						t.Fatalf("%s has a route to %s, which has no credentials", s.pod, c.name)
					}
				}
				if !strings.Contains(p.Stderr(), "Authorization Violation") {
					return fmt.Errorf("no authorization violation in its log yet:\n%s", p.Stderr())
				}
				return nil
			}))
		})
	}
}
