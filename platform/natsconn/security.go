package natsconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Security is how a service proves who it is to NATS and checks that the
// server is the one it means: TLS, the user's credentials and the inbox
// prefix its replies arrive on. Files are named, not inlined, so that the
// secrets stay in mounted Secrets; nats.go reads the certificate files
// and this package the password file again at each (re)connect, so a
// renewed file is used without a restart.
type Security struct {
	User         string `envconfig:"NATS_USER" desc:"NATS user name, when the server requires one"`
	Password     string `envconfig:"NATS_PASSWORD" desc:"NATS password for NATS_USER (prefer NATS_PASSWORD_FILE)"`
	PasswordFile string `envconfig:"NATS_PASSWORD_FILE" desc:"file holding NATS_USER's password, read at each connect"`
	NkeySeedFile string `envconfig:"NATS_NKEY_SEED_FILE" desc:"file holding the user's nkey seed (SU...), instead of NATS_USER"`
	CAFile       string `envconfig:"NATS_CA_FILE" desc:"PEM file of the CA(s) that sign the server's certificate; set, TLS is required"`
	CertFile     string `envconfig:"NATS_CERT_FILE" desc:"client certificate (PEM) for mutual TLS, with NATS_KEY_FILE"`
	KeyFile      string `envconfig:"NATS_KEY_FILE" desc:"private key (PEM) of NATS_CERT_FILE"`
	InboxPrefix  string `envconfig:"NATS_INBOX_PREFIX" default:"_INBOX" desc:"prefix of this service's reply subjects (its NATS user may subscribe only there)"`
}

// Validate implements config.Validator: every file named can be read and
// holds what its variable says, and the settings do not contradict each
// other. It reads the files once; a file that breaks later fails the
// next connect, which /readyz then reports.
func (s Security) Validate() error {
	if s.Password != "" && s.PasswordFile != "" {
		return errors.New("NATS_PASSWORD and NATS_PASSWORD_FILE are both set: keep one")
	}
	if s.NkeySeedFile != "" && (s.User != "" || s.Password != "" || s.PasswordFile != "") {
		return errors.New("NATS_NKEY_SEED_FILE is set together with NATS_USER/NATS_PASSWORD: an nkey user has no name or password; keep one way")
	}
	if s.PasswordFile != "" {
		if s.User == "" {
			return errors.New("NATS_PASSWORD_FILE is set without NATS_USER")
		}
		if _, err := readSecret(s.PasswordFile); err != nil {
			return fmt.Errorf("NATS_PASSWORD_FILE=%s: %w", s.PasswordFile, err)
		}
	}
	if s.NkeySeedFile != "" {
		if err := checkUserSeed(s.NkeySeedFile); err != nil {
			return fmt.Errorf("NATS_NKEY_SEED_FILE=%s: %w", s.NkeySeedFile, err)
		}
	}
	if s.CAFile != "" {
		if err := checkCA(s.CAFile); err != nil {
			return fmt.Errorf("NATS_CA_FILE=%s: %w", s.CAFile, err)
		}
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("NATS_CERT_FILE and NATS_KEY_FILE go together: set both or neither")
	}
	if s.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile); err != nil {
			return fmt.Errorf("NATS_CERT_FILE=%s, NATS_KEY_FILE=%s: %w", s.CertFile, s.KeyFile, err)
		}
	}
	if s.InboxPrefix == "" || strings.ContainsAny(s.InboxPrefix, "*> \t") || strings.HasSuffix(s.InboxPrefix, ".") {
		return fmt.Errorf("NATS_INBOX_PREFIX=%q: want subject tokens without wildcards, not ending in '.'", s.InboxPrefix)
	}
	return nil
}

// options are the nats.go options of s.
func (s Security) options() ([]nats.Option, error) {
	var opts []nats.Option
	if s.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(s.InboxPrefix))
	}
	switch {
	case s.PasswordFile != "":
		user, file := s.User, s.PasswordFile
		opts = append(opts, nats.UserInfoHandler(func() (string, string) {
			// A read error leaves the password empty: the server refuses
			// it and /readyz says so; the file is read again next time.
			pw, _ := readSecret(file)
			return user, pw
		}))
	case s.User != "":
		opts = append(opts, nats.UserInfo(s.User, s.Password))
	case s.NkeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(s.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("NATS_NKEY_SEED_FILE=%s: %w", s.NkeySeedFile, err)
		}
		opts = append(opts, o)
	}
	if s.CAFile != "" {
		opts = append(opts, nats.RootCAs(s.CAFile))
	}
	if s.CertFile != "" {
		opts = append(opts, nats.ClientCert(s.CertFile, s.KeyFile))
	}
	return opts, nil
}

// readSecret returns a file's content without surrounding white space (a
// Secret written with echo ends in a newline); an empty file is an error.
func readSecret(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", errors.New("file is empty")
	}
	return v, nil
}

// checkUserSeed fails unless file holds the seed of a user nkey.
func checkUserSeed(file string) error {
	seed, err := readSecret(file)
	if err != nil {
		return err
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return fmt.Errorf("not an nkey seed: %w", err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		kinds := map[byte]string{'O': "an operator", 'A': "an account", 'N': "a server", 'C': "a cluster"}
		kind, ok := kinds[pub[0]]
		if !ok {
			kind = "another kind of"
		}
		return fmt.Errorf("the seed of %s key (%c…), not of a user: a user seed starts with SU", kind, pub[0])
	}
	return nil
}

// checkCA fails unless file holds at least one PEM certificate.
func checkCA(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return errors.New("no PEM certificate in it")
	}
	return nil
}
