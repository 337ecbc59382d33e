package chart

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
	"github.com/distsys-go/orders/platform/deadletter"
	"github.com/distsys-go/orders/platform/events"
	ourjs "github.com/distsys-go/orders/platform/messaging/jetstream"
	"github.com/distsys-go/orders/test/audit"
)

// testTLS puts certificates made in the test into the Secret data the
// NATS pods and clients mount: the server certificate (valid for
// 127.0.0.1, where the servers run here) in each named server Secret,
// and with mutual a client certificate per identity. It returns the CA.
func testTLS(t *testing.T, sec map[string]string, mutual bool, serverSecrets ...string) *natstest.CA {
	t.Helper()
	ca := natstest.NewCA(t, "orders-test")
	read := func(f string) string {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	srv := ca.Issue(t, natstest.Cert{Name: "orders-nats", Hosts: []string{"127.0.0.1", "localhost"}})
	for _, s := range serverSecrets {
		sec[s+"/tls.crt"], sec[s+"/tls.key"], sec[s+"/ca.crt"] = read(srv.CertFile), read(srv.KeyFile), read(ca.File)
	}
	if mutual {
		for _, u := range identities {
			c := ca.Issue(t, natstest.Cert{Name: u})
			sec[name("nats-"+u+"-tls")+"/tls.crt"], sec[name("nats-"+u+"-tls")+"/tls.key"] = read(c.CertFile), read(c.KeyFile)
		}
	}
	return ca
}

// identity is one NATS user connected as the chart's pods connect: its
// password, the CA, its inbox prefix and, with mutual TLS, its client
// certificate. Errors the server sends (permissions violations) land in errs.
type identity struct {
	user string
	nc   *nats.Conn
	js   jetstream.JetStream
	mu   sync.Mutex
	errs []string
}

func (id *identity) errors() []string {
	id.mu.Lock()
	defer id.mu.Unlock()
	return append([]string(nil), id.errs...)
}

// violation waits for the server's permissions violation naming subject
// and returns its words.
func (id *identity) violation(t *testing.T, kind, subject string) (string, error) {
	t.Helper()
	want := fmt.Sprintf("Permissions Violation for %s to %q", kind, subject)
	var got string
	err := testkit.Await(t, id.user+": "+want, 5*time.Second, func() (bool, string) {
		for _, e := range id.errors() {
			if strings.Contains(e, want) {
				got = e
				return true, ""
			}
		}
		return false, fmt.Sprintf("errors so far: %v", id.errors())
	}, testkit.Every(20*time.Millisecond))
	return got, err
}

// TestSecurityProof is issue 19's proof without a cluster: a real
// nats-server on the configuration the chart renders (TLS, the identities
// and their permissions; then mutual TLS), with certificates made in the
// test. Every identity does its job, each forbidden act gets the server's
// permissions violation and leaves the stream as it was, and plaintext, a
// wrong CA, a wrong password and (mutual) a missing client certificate are
// refused. The server's own words are logged for the record.
// auditConfig is the dead-letter audit as the chart names it.
var auditConfig = deadletter.AuditConfig{Stream: "ORDERS_AUDIT", Subject: "orders-audit.deadletters", MaxBytes: 1 << 20}

func TestSecurityProof(t *testing.T) {
	natsServer := tool(t, "nats-server", "tools")
	for _, mode := range []struct {
		name   string
		sets   []string
		mutual bool
	}{
		{"TLS and identities (defaults)", nil, false},
		{"mutual TLS", []string{"nats.tls.mutual=true"}, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			began := time.Now()
			objs := objects(t, mustRender(t, mode.sets...))
			sec := secrets(objs)
			ca := testTLS(t, sec, mode.mutual, name("nats-tls"))
			rendered := renderedNATS(t, objs, sec)
			server := rendered.start(t, natsServer)[0]
			url := fmt.Sprintf("tls://127.0.0.1:%d", rendered.servers[0].client)
			certs := t.TempDir()
			file := func(key string) string {
				f := filepath.Join(certs, strings.ReplaceAll(key, "/", "_"))
				if err := os.WriteFile(f, []byte(sec[key]), 0o600); err != nil {
					t.Fatal(err)
				}
				return f
			}
			connect := func(user string, extra ...nats.Option) (*identity, error) {
				id := &identity{user: user}
				opts := []nats.Option{
					nats.Name(user), nats.UserInfo(user, sec[name("nats-"+user)+"/password"]),
					nats.RootCAs(ca.File), nats.CustomInboxPrefix("_INBOX_" + user),
					nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
						id.mu.Lock()
						id.errs = append(id.errs, err.Error())
						id.mu.Unlock()
					}),
				}
				if mode.mutual {
					opts = append(opts, nats.ClientCert(file(name("nats-"+user+"-tls")+"/tls.crt"), file(name("nats-"+user+"-tls")+"/tls.key")))
				}
				nc, err := nats.Connect(url, append(opts, extra...)...)
				if err != nil {
					return nil, err
				}
				t.Cleanup(nc.Close)
				id.nc = nc
				id.js, err = jetstream.New(nc)
				return id, err
			}
			ids := map[string]*identity{}
			for _, u := range identities {
				id, err := connect(u)
				if err != nil {
					t.Fatalf("%s cannot connect: %v", u, err)
				}
				ids[u] = id
			}
			n := audit.ChartNames()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// Every identity does its job, in the order the release does.
			var streamSeq uint64
			jobs := []struct {
				who, what string
				do        func(id *identity) error
			}{
				{"provisioner", "create the stream, the durable and the ledger bucket", func(id *identity) error {
					if _, err := id.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: n.Stream, Subjects: []string{"orders.>"}, AllowDirect: true}); err != nil {
						return err
					}
					if _, err := id.js.CreateOrUpdateConsumer(ctx, n.Stream, jetstream.ConsumerConfig{Durable: n.Durable, FilterSubject: n.Orders, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
						return err
					}
					if _, err := id.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: n.Bucket}); err != nil {
						return err
					}
					return deadletter.EnsureAudit(ctx, id.js, auditConfig, 1)
				}},
				{"producer", "publish an order, watch the stream's leader elections", func(id *identity) error {
					if err := watchElections(id, ourjs.StreamLeaderElected(n.Stream)); err != nil {
						return err
					}
					if _, err := id.js.Stream(ctx, n.Stream); err != nil {
						return err
					}
					ack, err := id.js.Publish(ctx, n.Orders, []byte(`{"id":"proof-1"}`))
					if err == nil {
						streamSeq = ack.Sequence
					}
					return err
				}},
				{"consumer", "ensure its durable, pull, ack, record, dead-letter, read by sequence, watch the leader elections", func(id *identity) error {
					if err := watchElections(id, ourjs.StreamLeaderElected(n.Stream), ourjs.StreamLeaderElected("KV_"+n.Bucket),
						ourjs.ConsumerLeaderElected(n.Stream, n.Durable)); err != nil {
						return err
					}
					s, err := id.js.Stream(ctx, n.Stream)
					if err != nil {
						return err
					}
					c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: n.Durable, FilterSubject: n.Orders, AckPolicy: jetstream.AckExplicitPolicy})
					if err != nil {
						return err
					}
					batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
					if err != nil {
						return err
					}
					got := 0
					for m := range batch.Messages() {
						got++
						if err := m.DoubleAck(ctx); err != nil {
							return fmt.Errorf("ack: %w", err)
						}
					}
					if got != 1 {
						return fmt.Errorf("pulled %d orders, want 1 (%v)", got, batch.Error())
					}
					kv, err := id.js.KeyValue(ctx, n.Bucket)
					if err != nil {
						return err
					}
					if _, err := kv.Create(ctx, "proof-1", []byte(`{"processed_by":"proof"}`)); err != nil {
						return err
					}
					if _, err := kv.Get(ctx, "proof-1"); err != nil {
						return err
					}
					if _, err := s.GetMsg(ctx, streamSeq); err != nil {
						return fmt.Errorf("read order %d by sequence: %w", streamSeq, err)
					}
					if _, err := id.nc.SubscribeSync(fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s", n.Stream, n.Durable)); err != nil {
						return err
					}
					// Count the dead-letter tool's audit records, one replica each.
					if _, err := id.nc.QueueSubscribeSync(auditConfig.Filter(), n.Durable); err != nil {
						return err
					}
					_, err = id.js.PublishMsg(ctx, &nats.Msg{Subject: n.DeadLetters, Data: []byte(`{"id":"proof-3"}`), Header: nats.Header{
						events.HeaderDeadLetterReason: {events.ReasonMaxDeliveries}, events.HeaderOriginalSubject: {n.Orders},
						events.HeaderOriginalID: {"proof-3"}, events.HeaderOriginalStream: {n.Stream},
					}})
					return err
				}},
				{"helm-test", "publish an order (watching the stream's leader elections) and read the ledger", func(id *identity) error {
					if err := watchElections(id, ourjs.StreamLeaderElected(n.Stream)); err != nil {
						return err
					}
					if _, err := id.js.Publish(ctx, n.Orders, []byte(`{"id":"proof-2"}`)); err != nil {
						return err
					}
					kv, err := id.js.KeyValue(ctx, n.Bucket)
					if err != nil {
						return err
					}
					_, err = kv.Get(ctx, "proof-1")
					return err
				}},
				{"dead-letters", "list, replay (reading the ledger, deleting the letter) and audit dead letters", func(id *identity) error {
					s, err := id.js.Stream(ctx, n.Stream)
					if err != nil {
						return err
					}
					kv, err := id.js.KeyValue(ctx, n.Bucket)
					if err != nil {
						return err
					}
					if _, err := id.js.Stream(ctx, auditConfig.Stream); err != nil {
						return err
					}
					op := &deadletter.Operator{JS: id.js, Stream: s, Subject: n.DeadLetters,
						Audit: deadletter.NewAudit(id.js, auditConfig, deadletter.Run{ID: "proof", Actor: "proof"}),
						Recorded: func(ctx context.Context, orderID string) (bool, error) {
							_, err := kv.Get(ctx, orderID)
							if errors.Is(err, jetstream.ErrKeyNotFound) {
								return false, nil
							}
							return err == nil, err
						}}
					var outcomes []string
					if err := op.Replay(ctx, deadletter.ReplayOptions{Rate: 100}, func(r deadletter.Result) { outcomes = append(outcomes, r.Outcome+" "+r.Detail) }); err != nil {
						return err
					}
					if len(outcomes) != 1 || !strings.HasPrefix(outcomes[0], deadletter.Replayed) {
						return fmt.Errorf("replay outcomes %q, want proof-3 replayed", outcomes)
					}
					return nil
				}},
				{"admin", "read everything", func(id *identity) error {
					_, err := id.js.AccountInfo(ctx)
					return err
				}},
			}
			for _, j := range jobs {
				if err := j.do(ids[j.who]); err != nil {
					t.Fatalf("%s cannot %s: %v (errors from the server: %v)", j.who, j.what, err, ids[j.who].errors())
				}
				if errs := ids[j.who].errors(); len(errs) > 0 {
					t.Errorf("%s did its job (%s) but the server objected: %v", j.who, j.what, errs)
				}
			}

			// Each forbidden act: the server's permissions violation.
			js := func(api string) string { return "$JS.API." + api }
			forbidden := []struct {
				who, act, kind, subject string
			}{
				{"producer", "pull from the durable", "Publish", js("CONSUMER.MSG.NEXT." + n.Stream + "." + n.Durable)},
				{"producer", "delete the stream", "Publish", js("STREAM.DELETE." + n.Stream)},
				{"producer", "read another's replies", "Subscription", "_INBOX_consumer.>"},
				{"producer", "write the ledger", "Publish", "$KV." + n.Bucket + ".forged"},
				{"consumer", "publish an order", "Publish", n.Orders},
				{"consumer", "create its durable with another filter", "Publish", js("CONSUMER.CREATE." + n.Stream + "." + n.Durable + "." + n.DeadLetters)},
				{"consumer", "create another consumer", "Publish", js("CONSUMER.CREATE." + n.Stream + ".x." + n.Orders)},
				{"consumer", "create a durable the old way", "Publish", js("CONSUMER.DURABLE.CREATE." + n.Stream + ".x")},
				{"consumer", "purge the stream", "Publish", js("STREAM.PURGE." + n.Stream)},
				{"consumer", "delete the stream", "Publish", js("STREAM.DELETE." + n.Stream)},
				{"consumer", "read another's replies", "Subscription", "_INBOX_producer.>"},
				{"producer", "watch every stream's leader elections", "Subscription", "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.*"},
				{"helm-test", "pull from the durable", "Publish", js("CONSUMER.MSG.NEXT." + n.Stream + "." + n.Durable)},
				{"provisioner", "delete the stream", "Publish", js("STREAM.DELETE." + n.Stream)},
				{"provisioner", "publish an order", "Publish", n.Orders},
				{"dead-letters", "pull from the durable", "Publish", js("CONSUMER.MSG.NEXT." + n.Stream + "." + n.Durable)},
				{"dead-letters", "purge the stream", "Publish", js("STREAM.PURGE." + n.Stream)},
				{"dead-letters", "delete the stream", "Publish", js("STREAM.DELETE." + n.Stream)},
				{"dead-letters", "write the ledger", "Publish", "$KV." + n.Bucket + ".forged"},
				{"dead-letters", "forge a dead letter", "Publish", n.DeadLetters},
				{"dead-letters", "delete the audit's records", "Publish", js("STREAM.PURGE." + auditConfig.Stream)},
				{"consumer", "forge an audit record", "Publish", auditConfig.Subject + ".replay.replayed"},
			}
			for _, f := range forbidden {
				t.Run(f.who+" may not "+f.act, func(t *testing.T) {
					id := ids[f.who]
					if f.kind == "Subscription" {
						if _, err := id.nc.SubscribeSync(f.subject); err != nil {
							t.Fatal(err)
						}
					} else if err := id.nc.PublishRequest(f.subject, id.nc.NewRespInbox(), []byte("{}")); err != nil {
						t.Fatal(err)
					}
					if err := id.nc.Flush(); err != nil {
						t.Fatal(err)
					}
					words, err := id.violation(t, f.kind, f.subject)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("client saw: %s", words)
					t.Logf("server log: %s", serverLine(server.Stderr(), f.subject))
				})
			}
			// Nothing forbidden took effect: the stream, its one consumer
			// and its orders are as the jobs left them.
			s, err := ids["admin"].js.Stream(ctx, n.Stream)
			if err != nil {
				t.Fatalf("the stream is gone: %v", err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs != 3 || info.State.Consumers != 1 {
				t.Errorf("stream after the forbidden acts: %d messages, %d consumers; want 3 (two orders, a dead letter) and 1", info.State.Msgs, info.State.Consumers)
			}

			// Refused connections.
			wrongCA := natstest.NewCA(t, "someone-else")
			refused := []struct {
				name    string
				connect func() error
				client  string // in the client's error (a regexp: TLS 1.3 may close before the alert arrives)
				server  string // in the server's log
			}{
				{"plaintext", func() error { return plaintext(rendered.servers[0].client, sec[name("nats-producer")+"/password"]) }, `"tls_required":true`, ""}, // then EOF; the server logs nothing at its default level
				{"wrong CA", func() error { _, err := connect("producer", nats.RootCAs(wrongCA.File)); return err }, "certificate signed by unknown authority", "TLS handshake error"},
				{"wrong password", func() error { _, err := connect("producer", nats.UserInfo("producer", "guess")); return err }, "Authorization Violation", `authentication error - User "producer"`},
			}
			if mode.mutual {
				refused = append(refused, struct {
					name    string
					connect func() error
					client  string
					server  string
				}{"missing client certificate", func() error {
					nc, err := nats.Connect(url, nats.UserInfo("producer", sec[name("nats-producer")+"/password"]), nats.RootCAs(ca.File))
					if err == nil {
						nc.Close()
					}
					return err
				}, "tls: certificate required|connection closed by remote after TLS handshake", "client didn't provide a certificate"})
			}
			for _, r := range refused {
				t.Run("refused: "+r.name, func(t *testing.T) {
					err := r.connect()
					if err == nil || !regexp.MustCompile(r.client).MatchString(err.Error()) || (r.name == "plaintext" && !strings.HasSuffix(err.Error(), "EOF")) {
						t.Fatalf("connect: %v, want a refusal saying %q", err, r.client)
					}
					t.Logf("client saw: %v", err)
					if r.server != "" {
						testkit.Eventually(t, "the server logs "+r.server, 5*time.Second, func() (bool, string) {
							l := serverLine(server.Stderr(), r.server)
							return l != "", "not yet"
						})
						t.Logf("server log: %s", serverLine(server.Stderr(), r.server))
					}
				})
			}
			t.Logf("%s: proof done in %v", mode.name, time.Since(began).Round(time.Millisecond))
		})
	}
}

// plaintext talks the NATS protocol without TLS to a server that requires
// it, and returns what the server answered.
func plaintext(port int, password string) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c, "CONNECT {\"verbose\":false,\"user\":\"producer\",\"pass\":%q}\r\nPING\r\n", password); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if strings.HasPrefix(line, "PONG") {
		return nil
	}
	// The server announced TLS in its INFO and closes a connection that
	// goes on in plaintext.
	return fmt.Errorf("%s then %q, %v", strings.TrimSpace(info), line, err)
}

// serverLine is the last line of the server's log containing s.
func serverLine(log, s string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

// watchElections watches subjects as the services do and makes sure the
// server had the subscriptions (a refused one shows in the identity's
// errors).
func watchElections(id *identity, subjects ...string) error {
	el, err := ourjs.WatchElections(id.nc, subjects...)
	if err != nil {
		return err
	}
	defer el.Stop()
	return id.nc.Flush()
}
