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
// rendered cluster with the defaults (TLS on routes, verified both ways;
// the route password), then a server from outside the release that routes
// to the first of them: with the release's certificate but without the
// password, or with the password but without TLS, it is refused and none
// of the three has a route to it; with both (the control, so each refusal
// is about what it lacks and nothing else) it joins.
func TestNATSClusterRoutesNeedCredentials(t *testing.T) {
	natsServer := tool(t, "nats-server", "tools")
	objs := objects(t, mustRender(t, "nats.cluster.enabled=true"))
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

	pass := sec[name("nats-route")+"/password"]
	seed := nats.servers[0]
	certs := seed.mounts["/etc/nats-tls"]
	tlsBlock := fmt.Sprintf(`tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true }`,
		filepath.Join(certs, "tls.crt"), filepath.Join(certs, "tls.key"), filepath.Join(certs, "ca.crt"))
	cases := []struct {
		name, creds, tls string
		joins            bool
		refusal          string // in the intruder's log
	}{
		{"intruder-with-certificate-without-password", "", tlsBlock, false, "Authorization Violation"},
		{"intruder-with-password-without-tls", "route:" + pass + "@", "", false, "Router connection closed: Client Closed"},
		{"member-with-both", "route:" + pass + "@", tlsBlock, true, ""},
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
  %s
  routes: [%q]
}
`, c.name, ports[0], ports[1], ports[2], c.tls, fmt.Sprintf("nats://%s127.0.0.1:%d", c.creds, seed.route))
			if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			p := testkit.Start(t, natsServer, nil, testkit.Name(c.name), testkit.Args("-c", conf))
			defer func() { t.Logf("%s's log:\n%s", c.name, lastLines(p.Stderr(), 6)) }()
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
				if !strings.Contains(p.Stderr(), c.refusal) {
					return fmt.Errorf("no %q in its log yet:\n%s", c.refusal, p.Stderr())
				}
				return nil
			}))
		})
	}
}

// lastLines is the end of a log, for t.Logf.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
