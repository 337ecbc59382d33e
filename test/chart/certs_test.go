package chart

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestGeneratedCertificates parses the Secrets source=generate renders: the
// server certificate carries every name clients and routes dial (wantSANs)
// and both usages (routes present it as client and server), the client
// certificates (mutual) client auth, and each is signed by the rendered CA,
// an ECDSA P-256 CA valid for caDays.
func TestGeneratedCertificates(t *testing.T) {
	objs := objects(t, mustRender(t, "nats.tls.mutual=true"))
	sec := secrets(objs)
	parse := func(key string) *x509.Certificate {
		t.Helper()
		b, _ := pem.Decode([]byte(sec[key]))
		if b == nil {
			t.Fatalf("%s holds no PEM certificate", key)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return c
	}
	ca := parse(name("nats-ca") + "/ca.crt")
	if !ca.IsCA || ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA: IsCA %v, key %v; want an ECDSA CA", ca.IsCA, ca.PublicKeyAlgorithm)
	}
	if days := time.Until(ca.NotAfter).Hours() / 24; days < 3640 {
		t.Errorf("CA valid %.0f more days, want nats.tls.generate.caDays (3650)", days)
	}
	if _, ok := sec[name("nats-ca")+"/ca.key"]; !ok {
		t.Error("the CA Secret keeps no key: the next upgrade could not sign with the same CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	cases := []struct {
		secret string
		usage  x509.ExtKeyUsage
		names  []string
	}{
		{name("nats-tls"), x509.ExtKeyUsageServerAuth, wantSANs},
		{name("nats-tls"), x509.ExtKeyUsageClientAuth, nil}, // routes present it to each other
	}
	for _, u := range identities {
		cases = append(cases, struct {
			secret string
			usage  x509.ExtKeyUsage
			names  []string
		}{name("nats-" + u + "-tls"), x509.ExtKeyUsageClientAuth, nil})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s usage %d", c.secret, c.usage), func(t *testing.T) {
			cert := parse(c.secret + "/tls.crt")
			if sec[c.secret+"/ca.crt"] != sec[name("nats-ca")+"/ca.crt"] {
				t.Errorf("%s/ca.crt is not the rendered CA", c.secret)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{c.usage}}); err != nil {
				t.Errorf("not valid for usage %d under the rendered CA: %v", c.usage, err)
			}
			for _, n := range c.names {
				host := n
				if n[0] == '*' {
					host = "orders-nats-2" + n[1:] // a pod of the StatefulSet, as a route dials it
				}
				if err := cert.VerifyHostname(host); err != nil {
					t.Errorf("%s: %v", host, err)
				}
			}
			if c.names != nil {
				t.Logf("DNS names %v, IPs %v", cert.DNSNames, cert.IPAddresses)
				if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
					t.Error("the server certificate lacks client auth, which routes need")
				}
			}
		})
	}
}
