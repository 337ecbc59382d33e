package natsconn_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/natsconn"
)

// writeFile writes content to a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func seed(t *testing.T, create func() (nkeys.KeyPair, error)) (seedFile, public string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	return writeFile(t, t.TempDir(), pub+".seed", string(s)+"\n"), pub
}

// TestSecurityValidate: each bad setting is refused at start with the
// variable named, before any connect.
func TestSecurityValidate(t *testing.T) {
	dir := t.TempDir()
	ca := natstest.NewCA(t, "orders")
	client := ca.Issue(t, natstest.Cert{Name: "producer"})
	userSeed, _ := seed(t, nkeys.CreateUser)
	accountSeed, _ := seed(t, nkeys.CreateAccount)
	password := writeFile(t, dir, "password", "s3cret\n")
	empty := writeFile(t, dir, "empty", "\n")
	notPEM := writeFile(t, dir, "not.pem", "hello")
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name string
		s    natsconn.Security
		want string // "" = valid
	}{
		{"nothing", natsconn.Security{}, ""},
		{"password file and CA", natsconn.Security{User: "producer", PasswordFile: password, CAFile: ca.File}, ""},
		{"nkey and mutual TLS", natsconn.Security{NkeySeedFile: userSeed, CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}, ""},
		{"password twice", natsconn.Security{User: "u", Password: "p", PasswordFile: password}, "NATS_PASSWORD and NATS_PASSWORD_FILE"},
		{"password file without user", natsconn.Security{PasswordFile: password}, "NATS_PASSWORD_FILE is set without NATS_USER"},
		{"missing password file", natsconn.Security{User: "u", PasswordFile: missing}, "NATS_PASSWORD_FILE=" + missing + ": open"},
		{"empty password file", natsconn.Security{User: "u", PasswordFile: empty}, "NATS_PASSWORD_FILE=" + empty + ": file is empty"},
		{"seed and user", natsconn.Security{User: "u", NkeySeedFile: userSeed}, "NATS_NKEY_SEED_FILE is set together with NATS_USER"},
		{"missing seed", natsconn.Security{NkeySeedFile: missing}, "NATS_NKEY_SEED_FILE=" + missing},
		{"not a seed", natsconn.Security{NkeySeedFile: password}, "NATS_NKEY_SEED_FILE=" + password + ": not an nkey seed"},
		{"account seed", natsconn.Security{NkeySeedFile: accountSeed}, "an account key (A…), not of a user: a user seed starts with SU"},
		{"missing CA", natsconn.Security{CAFile: missing}, "NATS_CA_FILE=" + missing},
		{"CA not PEM", natsconn.Security{CAFile: notPEM}, "NATS_CA_FILE=" + notPEM + ": no PEM certificate in it"},
		{"cert without key", natsconn.Security{CertFile: client.CertFile}, "NATS_CERT_FILE and NATS_KEY_FILE go together"},
		{"key of another cert", natsconn.Security{CertFile: client.CertFile, KeyFile: ca.Issue(t, natstest.Cert{Name: "other"}).KeyFile}, "NATS_CERT_FILE=" + client.CertFile},
		{"wildcard inbox prefix", natsconn.Security{InboxPrefix: "_INBOX.>"}, `NATS_INBOX_PREFIX="_INBOX.>"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s.InboxPrefix == "" {
				tc.s.InboxPrefix = "_INBOX"
			}
			err := tc.s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// secureServer runs a server that requires TLS with a certificate of ca
// for 127.0.0.1 (or the given server certificate), mutual TLS when
// verify, and users.
func secureServer(t *testing.T, ca *natstest.CA, cert natstest.Issued, verify bool, users []*server.User, nkeyUsers []*server.NkeyUser) *natstest.Server {
	t.Helper()
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cert.CertFile, KeyFile: cert.KeyFile, CaFile: ca.File, Verify: verify})
	if err != nil {
		t.Fatal(err)
	}
	return natstest.RunWith(t, func(o *server.Options) {
		o.TLS, o.TLSConfig, o.TLSVerify, o.TLSTimeout = true, tc, verify, 2
		o.Users, o.Nkeys = users, nkeyUsers
	})
}

// TestConnectFailuresSayWhat: a TLS or authorization failure is said in
// one line on the status (/readyz) and in the log, naming what to fix;
// the right settings connect.
func TestConnectFailuresSayWhat(t *testing.T) {
	ca := natstest.NewCA(t, "orders")
	otherCA := natstest.NewCA(t, "other")
	good := ca.Issue(t, natstest.Cert{Name: "nats", Hosts: []string{"127.0.0.1"}})
	expired := ca.Issue(t, natstest.Cert{Name: "nats-expired", Hosts: []string{"127.0.0.1"}, NotAfter: time.Now().Add(-time.Minute)})
	elsewhere := ca.Issue(t, natstest.Cert{Name: "nats-elsewhere", Hosts: []string{"nats.example"}})
	client := ca.Issue(t, natstest.Cert{Name: "consumer"})
	dir := t.TempDir()
	password := writeFile(t, dir, "password", "s3cret\n")
	wrongPassword := writeFile(t, dir, "wrong", "guess\n")
	userSeed, userPub := seed(t, nkeys.CreateUser)
	users := []*server.User{{Username: "producer", Password: "s3cret"}}
	nkeyUsers := []*server.NkeyUser{{Nkey: userPub}}

	tests := []struct {
		name   string
		cert   natstest.Issued
		mutual bool
		sec    natsconn.Security
		want   string // "" = connects
	}{
		{"password file over TLS", good, false, natsconn.Security{User: "producer", PasswordFile: password, CAFile: ca.File}, ""},
		{"nkey over mutual TLS", good, true, natsconn.Security{NkeySeedFile: userSeed, CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}, ""},
		{"plaintext", good, false, natsconn.Security{User: "producer", PasswordFile: password}, "the server requires TLS with a certificate no system CA signs: set NATS_CA_FILE"},
		{"wrong CA", good, false, natsconn.Security{User: "producer", PasswordFile: password, CAFile: otherCA.File}, "not signed by a CA in NATS_CA_FILE"},
		{"expired server certificate", expired, false, natsconn.Security{User: "producer", PasswordFile: password, CAFile: ca.File}, "TLS: a certificate has expired or is not valid yet"},
		{"certificate for another host", elsewhere, false, natsconn.Security{User: "producer", PasswordFile: password, CAFile: ca.File}, "not valid for the host in NATS_URL"},
		{"no client certificate", good, true, natsconn.Security{User: "producer", PasswordFile: password, CAFile: ca.File}, "a client certificate (mutual TLS): set NATS_CERT_FILE and NATS_KEY_FILE"},
		{"wrong password", good, false, natsconn.Security{User: "producer", PasswordFile: wrongPassword, CAFile: ca.File}, "the server refused our credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := secureServer(t, ca, tc.cert, tc.mutual, users, nkeyUsers)
			tc.sec.InboxPrefix = "_INBOX_test"
			var logs testkit.SyncBuffer
			var status *natsconn.Status
			nc, err := natsconn.Connect(natsconn.Config{URL: srv.ClientURL(), ReconnectWait: 20 * time.Millisecond, Security: tc.sec},
				"test", slog.New(slog.NewJSONHandler(&logs, nil)), natsconn.WithStatus(&status))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			if tc.want == "" {
				testkit.Eventually(t, "connected", testkit.Bound, testkit.NoError(status.Check))
				return
			}
			testkit.Eventually(t, "the status says "+tc.want, testkit.Bound, func() (bool, string) {
				err := status.Check()
				return err != nil && strings.Contains(err.Error(), tc.want), "status: " + errString(err)
			})
			t.Logf("/readyz: %v", status.Check())
			testkit.Eventually(t, "the log says it too", testkit.Bound, func() (bool, string) {
				return strings.Contains(logs.String(), tc.want), logs.String()
			})
			if nc.IsClosed() {
				t.Fatal("the client gave up; it must keep retrying (credentials and certificates may be fixed)")
			}
		})
	}
}

// TestPermissionViolationMakesUnready: an operation the user may not do
// is refused by the server, and the status names it until it has not
// happened for a while.
func TestPermissionViolationMakesUnready(t *testing.T) {
	srv := natstest.RunWith(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "producer", Password: "p", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"orders.created"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX_producer.>"}},
		}}}
	})
	var logs testkit.SyncBuffer
	var status *natsconn.Status
	nc, err := natsconn.Connect(natsconn.Config{URL: srv.ClientURL(), ReconnectWait: 20 * time.Millisecond,
		Security: natsconn.Security{User: "producer", Password: "p", InboxPrefix: "_INBOX_producer"}},
		"test", slog.New(slog.NewJSONHandler(&logs, nil)), natsconn.WithStatus(&status))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	testkit.Eventually(t, "connected", testkit.Bound, testkit.NoError(status.Check))
	if err := nc.Publish("orders.created", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil || status.Check() != nil {
		t.Fatalf("an allowed publish: flush %v, status %v", err, status.Check())
	}
	if err := nc.Publish("orders.deadletter", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	want := `Permissions Violation for Publish to "orders.deadletter"`
	testkit.Eventually(t, "the status names the refused publish", testkit.Bound, func() (bool, string) {
		err := status.Check()
		return err != nil && strings.Contains(err.Error(), want), errString(err)
	})
	t.Logf("/readyz: %v", status.Check())
	if l := logs.String(); !strings.Contains(l, `Permissions Violation for Publish to \"orders.deadletter\"`) {
		t.Errorf("the log must name the refused publish:\n%s", l)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
