package chart

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// TestReloaderPicksUpRenewedCertificate runs the rendered NATS pod here:
// nats-server on its configuration and the reloader sidecar's own script
// (sh, md5sum, the pinned nats-server for --signal with the pid file), with
// only the mount paths made local. A renewed certificate written where the
// Secret volume is makes the reloader signal the server, new connections
// get the new certificate, and a client connected before keeps its
// connection (a reload, not a restart).
func TestReloaderPicksUpRenewedCertificate(t *testing.T) {
	natsServer := tool(t, "nats-server", "tools")
	objs := objects(t, mustRender(t, "nats.tls.reloader.intervalSeconds=1"))
	sec := secrets(objs)
	ca := testTLS(t, sec, false, name("nats-tls"))
	rendered := renderedNATS(t, objs, sec)
	rendered.start(t, natsServer)
	srv := rendered.servers[0]
	certs := srv.mounts["/etc/nats-tls"]

	conf, err := os.ReadFile(srv.conf)
	if err != nil {
		t.Fatal(err)
	}
	pid := regexp.MustCompile(`pid_file: "([^"]+)"`).FindSubmatch(conf)
	if pid == nil {
		t.Fatalf("no pid_file in %s", conf)
	}
	reloader := containers(mustFind(t, objs, "StatefulSet", name("nats")))[1]
	cmd, _ := get(reloader, "command").([]any)
	if len(cmd) != 3 || cmd[0] != "sh" || cmd[1] != "-c" {
		t.Fatalf("reloader command %v, want sh -c <script>", cmd)
	}
	script := strings.NewReplacer("/etc/nats-tls/", certs+"/", "/var/run/nats/nats.pid", string(pid[1])).Replace(cmd[2].(string))
	side := testkit.Start(t, "/bin/sh", []string{"PATH=" + filepath.Dir(natsServer) + ":" + os.Getenv("PATH")},
		testkit.Name("reloader"), testkit.Args("-c", script))

	// The script reads its first checksum before its loop: wait until it
	// sleeps in the loop, or a renewal written earlier would be its
	// baseline.
	testkit.Eventually(t, "the reloader is in its loop", 10*time.Second, func() (bool, string) {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", side.Pid(), side.Pid()))
		for _, c := range strings.Fields(string(children)) {
			if comm, _ := os.ReadFile("/proc/" + c + "/comm"); strings.TrimSpace(string(comm)) == "sleep" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("children %q", children)
	}, testkit.Every(20*time.Millisecond))

	addr := fmt.Sprintf("127.0.0.1:%d", srv.client)
	pw := sec[name("nats-admin")+"/password"]
	disconnects := make(chan error, 10)
	nc, err := nats.Connect("tls://"+addr, nats.UserInfo("admin", pw), nats.RootCAs(ca.File),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { disconnects <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	before := serverSerial(t, addr, ca.File)

	renewed := ca.Issue(t, natstest.Cert{Name: "orders-nats", Hosts: []string{"127.0.0.1"}})
	began := time.Now()
	for _, f := range [][2]string{{renewed.CertFile, "tls.crt"}, {renewed.KeyFile, "tls.key"}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(certs, "."+f[1])
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(certs, f[1])); err != nil { // the kubelet swaps files atomically too
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, "new connections get the renewed certificate", 20*time.Second, func() (bool, string) {
		if side.Exited() {
			t.Fatalf("the reloader exited:\n%s", side.Stderr())
		}
		got := serverSerial(t, addr, ca.File)
		return got == renewed.Serial.String(), fmt.Sprintf("serial %s (before %s, renewed %s)", got, before, renewed.Serial)
	}, testkit.Every(200*time.Millisecond))
	t.Logf("renewed certificate served %v after it was written; reloader said: %s", time.Since(began).Round(time.Millisecond), strings.Join(side.Lines(), " | "))
	if err := nc.Flush(); err != nil || nc.Status() != nats.CONNECTED {
		t.Errorf("the client connected before the renewal: %v, %v", nc.Status(), err)
	}
	select {
	case err := <-disconnects:
		t.Errorf("the client connected before the renewal was disconnected: %v", err)
	default:
	}
}

// serverSerial is the serial number of the certificate the server at addr
// presents now.
func serverSerial(t *testing.T, addr, caFile string) string {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	// nats-server sends its INFO in plaintext, then the client starts TLS.
	raw, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(raw)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("INFO: %v", err)
	}
	conn := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err := conn.Handshake(); err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}
