package natsconn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// explain prefixes a failed connect's error with what it means for the
// settings, so that /readyz and the log say in one line what to fix: the
// TLS and authorization errors of nats.go and crypto/x509 name the
// symptom, not the variable.
// withCA says whether NATS_CA_FILE is set: without it, nats.go upgrades
// to TLS when the server requires it and checks the server's certificate
// against the system's CAs. withCert says whether NATS_CERT_FILE is.
func explain(err error, withCA, withCert bool) error {
	if err == nil {
		return nil
	}
	if hint := hint(err, withCA, withCert); hint != "" {
		return fmt.Errorf("%s: %w", hint, err)
	}
	return err
}

func hint(err error, withCA, withCert bool) string {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		host      x509.HostnameError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA) && !withCA:
		return "the server requires TLS with a certificate no system CA signs: set NATS_CA_FILE to the CA of its certificate"
	case errors.As(err, &unknownCA):
		return "TLS: the server's certificate is not signed by a CA in NATS_CA_FILE"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS: a certificate has expired or is not valid yet"
	case errors.As(err, &host):
		return "TLS: the server's certificate is not valid for the host in NATS_URL"
	case strings.Contains(msg, "tls: certificate required"):
		return "TLS: the server requires a client certificate (mutual TLS): set NATS_CERT_FILE and NATS_KEY_FILE"
	// With TLS 1.3 the client's side of the handshake ends before the
	// server checks the client's certificate, so a server that wants one
	// may only close the connection.
	case strings.Contains(msg, "closed by remote after TLS handshake") && !withCert:
		return "TLS: the server closed the connection after the handshake; it may require a client certificate (mutual TLS): set NATS_CERT_FILE and NATS_KEY_FILE"
	case strings.Contains(msg, "tls: bad certificate"), strings.Contains(msg, "closed by remote after TLS handshake"), strings.Contains(msg, "tls: unknown certificate authority"),
		strings.Contains(msg, "tls: expired certificate"):
		return "TLS: the server refused our client certificate (NATS_CERT_FILE)"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "TLS is required by NATS_CA_FILE/NATS_CERT_FILE but the server offers none"
	case errors.Is(err, nats.ErrAuthorization):
		return "the server refused our credentials (NATS_USER with NATS_PASSWORD or NATS_PASSWORD_FILE, or NATS_NKEY_SEED_FILE)"
	case errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return "the server no longer accepts our credentials"
	}
	return ""
}
