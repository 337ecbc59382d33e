package chart

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// identities are the chart's NATS users (contract of issue 19).
var identities = []string{"producer", "consumer", "provisioner", "helm-test", "dead-letters", "admin"}

// clientIdentity is the identity each client pod runs as.
var clientIdentity = map[string]string{
	"Deployment/" + name("producer"):    "producer",
	"Deployment/" + name("consumer"):    "consumer",
	"Pod/" + name("test-orders-flow"):   "helm-test",
	"Deployment/" + name("deadletters"): "dead-letters",
}

// externalNATS: a server the release does not install, with TLS and
// authorization on: the CA and every mounted identity from Secrets.
var externalNATS = []string{"nats.enabled=false", "nats.externalURL=tls://nats.messaging:4222", "nats.tls.secretName=messaging-ca",
	"nats.auth.users.producer.existingSecret=orders-producer", "nats.auth.users.consumer.existingSecret=orders-consumer",
	"nats.auth.users.provisioner.existingSecret=orders-provisioner", "nats.auth.users.helmTest.existingSecret=orders-helm-test",
	"nats.auth.users.deadLetters.existingSecret=orders-dead-letters"}

// nkeyUsers: the producer and the consumer authenticate with nkeys whose
// seeds are in their Secrets.
var nkeyUsers = []string{
	"nats.auth.users.producer.nkey=UBHCBJRE6JQ6YQAVVVI77GTN26QMF7BAXD56ON74YN624I67FKN2M3EB", "nats.auth.users.producer.existingSecret=producer-nkey",
	"nats.auth.users.consumer.nkey=UBTIT6JN4GFPQUCKNBZED5PQTWHAMJXZ2LPPHWLWDMJXG5GO7IRI665O", "nats.auth.users.consumer.existingSecret=consumer-nkey",
}

// securityWant is what a rendering's TLS and authorization look like.
type securityWant struct {
	tls, auth, mutual, nkeys, external bool
	tlsSecret                          string // the server certificate's Secret; default <fullname>-nats-tls
}

// wantSecure checks the client pods' identity (env and the projected
// volume at /etc/nats-client), the provision Job, nats.conf's tls and
// authorization blocks and the NATS pods' TLS volume and reloader.
func wantSecure(t *testing.T, objs []obj, w securityWant) {
	t.Helper()
	tlsSecret := w.tlsSecret
	if tlsSecret == "" {
		tlsSecret = name("nats-tls")
		if w.external {
			tlsSecret = "messaging-ca"
		}
	}
	pods := map[string]string{}
	for k, v := range clientIdentity {
		pods[k] = v
	}
	var jobs []string
	for _, o := range objs {
		if o.kind() == "Job" {
			jobs = append(jobs, o.name())
			pods[o.key()] = "provisioner"
		}
	}
	if w.auth != (len(jobs) == 1) || (len(jobs) == 1 && !strings.HasPrefix(jobs[0], name("provision-"))) {
		t.Errorf("Jobs %v with auth %v: want one %s-<hash> exactly with auth", jobs, w.auth, name("provision"))
	}
	for key, user := range pods {
		kind, nm, _ := strings.Cut(key, "/")
		o := mustFind(t, objs, kind, nm)
		env, _ := containerEnv(t, containers(o)[0])
		nkey := w.nkeys && (user == "producer" || user == "consumer")
		want := map[string]string{"NATS_INBOX_PREFIX": "_INBOX_" + user}
		var files []string
		if w.auth {
			if nkey {
				want["NATS_NKEY_SEED_FILE"] = "/etc/nats-client/nkey.seed"
				files = append(files, user+"-nkey/nkey.seed")
			} else {
				want["NATS_USER"], want["NATS_PASSWORD_FILE"] = user, "/etc/nats-client/password"
				secret := name("nats-" + user)
				if w.external {
					secret = "orders-" + user
				}
				files = append(files, secret+"/password")
			}
			if user != "provisioner" {
				want["PROVISION"] = "false"
			}
		}
		if w.tls {
			want["NATS_CA_FILE"] = "/etc/nats-client/ca.crt"
			files = append(files, tlsSecret+"/ca.crt")
		}
		if w.mutual {
			want["NATS_CERT_FILE"], want["NATS_KEY_FILE"] = "/etc/nats-client/tls.crt", "/etc/nats-client/tls.key"
			files = append(files, name("nats-"+user+"-tls")+"/tls.crt", name("nats-"+user+"-tls")+"/tls.key")
		}
		for _, v := range []string{"NATS_USER", "NATS_PASSWORD", "NATS_PASSWORD_FILE", "NATS_NKEY_SEED_FILE", "NATS_CA_FILE", "NATS_CERT_FILE", "NATS_KEY_FILE", "NATS_INBOX_PREFIX", "PROVISION"} {
			if got := env[v]; got.value != want[v] || got.secret != "" {
				t.Errorf("%s: %s = %+v, want %q", key, v, got, want[v])
			}
		}
		if got := projected(o); strings.Join(got, " ") != strings.Join(sorted(files), " ") {
			t.Errorf("%s mounts %v at /etc/nats-client, want %v", key, got, sorted(files))
		}
	}
	sts := find(objs, "StatefulSet", name("nats"))
	if sts == nil {
		return
	}
	conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
	if got := strings.Contains(conf, "\ntls {"); got != w.tls {
		t.Errorf("nats.conf client tls block: %v, want %v", got, w.tls)
	}
	if got := strings.Contains(conf, "verify: true\n}"); got != w.mutual {
		t.Errorf("nats.conf verifies client certificates: %v, want %v (mutual)", got, w.mutual)
	}
	if got := strings.Contains(conf, "authorization {"); got != w.auth {
		t.Errorf("nats.conf authorization: %v, want %v", got, w.auth)
	}
	if w.auth {
		for _, u := range identities {
			nkey := w.nkeys && (u == "producer" || u == "consumer")
			if has := strings.Contains(conf, fmt.Sprintf("{user: %q, password: $%s_PASSWORD,", u, strings.ToUpper(strings.ReplaceAll(u, "-", "_")))); has == nkey {
				t.Errorf("nats.conf password user %s: %v, want %v", u, has, !nkey)
			}
		}
		if w.nkeys && !strings.Contains(conf, "{nkey: UBHCBJRE6JQ6YQAVVVI77GTN26QMF7BAXD56ON74YN624I67FKN2M3EB, permissions:") {
			t.Errorf("nats.conf has no nkey user for the producer:\n%s", conf)
		}
	}
	// The server's certificate volume, and the reloader that signals it.
	var tlsVolume string
	vols, _ := get(podSpec(sts), "volumes").([]any)
	for _, v := range vols {
		if str(v, "name") == "tls" {
			tlsVolume = str(v, "secret", "secretName")
		}
	}
	cs := containers(sts)
	if !w.tls {
		if tlsVolume != "" || len(cs) != 1 {
			t.Errorf("TLS off, but NATS mounts %q and runs %d containers", tlsVolume, len(cs))
		}
		return
	}
	if tlsVolume != tlsSecret {
		t.Errorf("NATS mounts certificate Secret %q, want %q", tlsVolume, tlsSecret)
	}
	if len(cs) != 2 || cs[1]["name"] != "reloader" || get(podSpec(sts), "shareProcessNamespace") != true {
		t.Fatalf("NATS pod: want nats and the reloader sharing the process namespace, have %d containers, shareProcessNamespace %v", len(cs), get(podSpec(sts), "shareProcessNamespace"))
	}
	script := fmt.Sprint(get(cs[1], "command"))
	if !strings.Contains(script, "nats-server --signal reload=/var/run/nats/nats.pid") || !strings.Contains(script, "/etc/nats-tls/") {
		t.Errorf("reloader command %s: want it to watch /etc/nats-tls and signal reload by the pid file", script)
	}
}

// projected lists the Secret keys a client pod's nats-client volume
// projects, as "secret/key", sorted.
func projected(o obj) []string {
	var out []string
	vols, _ := get(podSpec(o), "volumes").([]any)
	for _, v := range vols {
		if str(v, "name") != "nats-client" {
			continue
		}
		srcs, _ := get(v, "projected", "sources").([]any)
		for _, s := range srcs {
			items, _ := get(s, "secret", "items").([]any)
			for _, it := range items {
				out = append(out, str(s, "secret", "name")+"/"+str(it, "key"))
			}
		}
	}
	return sorted(out)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// wantCertificates checks the cert-manager Certificates: the server's
// carries every name and both usages, a client's client auth.
func wantCertificates(t *testing.T, objs []obj, names ...string) {
	t.Helper()
	for _, n := range names {
		c := mustFind(t, objs, "Certificate", n)
		usages := fmt.Sprint(get(c, "spec", "usages"))
		switch {
		case n == name("nats-tls"):
			dns := fmt.Sprint(get(c, "spec", "dnsNames"))
			for _, want := range wantSANs {
				if !strings.Contains(dns+fmt.Sprint(get(c, "spec", "ipAddresses")), want) {
					t.Errorf("server Certificate has no SAN %s: %s", want, dns)
				}
			}
			if !strings.Contains(usages, "server auth") || !strings.Contains(usages, "client auth") {
				t.Errorf("server Certificate usages %s, want server and client auth (routes)", usages)
			}
		case get(c, "spec", "isCA") == true:
		default:
			if !strings.Contains(usages, "client auth") {
				t.Errorf("%s usages %s, want client auth", n, usages)
			}
		}
		if str(c, "spec", "secretName") != n {
			t.Errorf("%s writes Secret %s, want its own name", n, str(c, "spec", "secretName"))
		}
	}
}

// wantSANs are the names the server certificate must carry (namespace
// shop, release orders).
var wantSANs = []string{
	"orders-nats", "orders-nats.shop", "orders-nats.shop.svc", "orders-nats.shop.svc.cluster.local",
	"*.orders-nats-headless", "*.orders-nats-headless.shop", "*.orders-nats-headless.shop.svc", "*.orders-nats-headless.shop.svc.cluster.local",
	"orders-nats-headless", "orders-nats-headless.shop", "orders-nats-headless.shop.svc", "orders-nats-headless.shop.svc.cluster.local",
	"localhost", "127.0.0.1",
}

// wantPolicyRules compares a NetworkPolicy's ingress or egress rules, each as
// "<peers, | between them> → [ports]"; "anyone" when a rule names no peer.
func wantPolicyRules(t *testing.T, np obj, dir, peersKey string, want []string) {
	t.Helper()
	rules, _ := get(np, "spec", dir).([]any)
	var got []string
	for _, r := range rules {
		var who []string
		peers, _ := get(r, peersKey).([]any)
		for _, p := range peers {
			var w string
			if sel := get(p, "podSelector"); sel != nil {
				w = fmt.Sprint(get(sel, "matchLabels"))
				if ex := get(sel, "matchExpressions", "0"); ex != nil {
					w += fmt.Sprintf(" component %s %v", str(ex, "operator"), get(ex, "values"))
				}
			}
			if ns := get(p, "namespaceSelector", "matchLabels"); ns != nil {
				m, _ := ns.(map[string]any)
				if v, ok := m["kubernetes.io/metadata.name"]; ok && len(m) == 1 {
					w = fmt.Sprintf("ns %v", v)
				} else {
					w = fmt.Sprintf("ns %v", ns)
				}
			}
			who = append(who, w)
		}
		if len(who) == 0 {
			who = []string{"anyone"}
		}
		var ports []string
		ps, _ := get(r, "ports").([]any)
		for _, p := range ps {
			port := fmt.Sprint(get(p, "port"))
			if proto := str(p, "protocol"); proto != "" {
				port += "/" + proto
			}
			ports = append(ports, port)
		}
		got = append(got, fmt.Sprintf("%s → %v", strings.Join(who, " | "), ports))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s %s rules:\n%s\nwant:\n%s", np.key(), dir, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
