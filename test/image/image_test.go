//go:build imagetest

// Package image tests the built container images the way the chart runs
// them: uid 65532, read-only root filesystem, every capability dropped, no
// privilege escalation, against a real nats-server, until /readyz answers
// 200; then SIGTERM must end them with exit code 0.
//
// Run it with `make test-images` (it builds the images first and sets
// ORDERS_CONTAINER_ENGINE, ORDERS_IMAGE_PREFIX and ORDERS_IMAGE_TAG). It is
// behind the imagetest build tag so `go test ./...` does not need a
// container engine.
package image

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// maxImageBytes is a regression bound. The images measured about 15.4 MB
// until tracing came in: the official OTLP/HTTP exporter links the OTLP
// collector packages and with them gRPC and grpc-gateway (about 4 MB), so
// they measure 19.6-19.8 MB now. The bound leaves room for noise, not for
// another dependency of that size unnoticed.
const maxImageBytes = 21_000_000

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is unset: run `make test-images`, which builds the images and sets it", name)
	}
	return v
}

func engine(t *testing.T, args ...string) (string, error) {
	t.Helper()
	e := strings.Fields(env(t, "ORDERS_CONTAINER_ENGINE"))
	cmd := exec.Command(e[0], append(e[1:], args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func mustEngine(t *testing.T, args ...string) string {
	t.Helper()
	out, err := engine(t, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", os.Getenv("ORDERS_CONTAINER_ENGINE"), strings.Join(args, " "), err, out)
	}
	return out
}

func repoBin(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make tools`", p)
	}
	return p
}

func TestImagesRunHardened(t *testing.T) {
	prefix, tag := env(t, "ORDERS_IMAGE_PREFIX"), env(t, "ORDERS_IMAGE_TAG")

	natsPort := natstest.FreePort(t)
	nats := exec.Command(repoBin(t, "nats-server"), "--jetstream", "--store_dir", t.TempDir(),
		"--addr", "127.0.0.1", "--port", strconv.Itoa(natsPort))
	var natsOut bytes.Buffer
	nats.Stdout, nats.Stderr = &natsOut, &natsOut
	if err := nats.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nats.Process.Kill(); _ = nats.Wait() })

	for _, side := range []string{"consumer", "producer"} {
		t.Run(side, func(t *testing.T) {
			image := prefix + side + ":" + tag
			if user := mustEngine(t, "image", "inspect", "--format", "{{.Config.User}}", image); user != "65532:65532" {
				t.Errorf("%s runs as %q by default, want 65532:65532", image, user)
			}
			size, err := strconv.ParseInt(mustEngine(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f MB", image, float64(size)/1e6)
			if size > maxImageBytes {
				t.Errorf("%s is %d bytes, over the %d bound", image, size, maxImageBytes)
			}

			httpAddr := fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t))
			name := fmt.Sprintf("orders-imagetest-%s-%d", side, os.Getpid())
			id := mustEngine(t, "run", "-d", "--name", name, "--pull=never", "--network=host",
				"--user", "65532:65532", "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
				"-e", fmt.Sprintf("NATS_URL=nats://127.0.0.1:%d", natsPort), "-e", "HTTP_ADDR="+httpAddr,
				"-e", "SHUTDOWN_GRACE=5s", "-e", "PUBLISH_INTERVAL=200ms", image)
			t.Cleanup(func() { _, _ = engine(t, "rm", "-f", id) })

			readyErr := testkit.Await(t, image+" /readyz 200", 30*time.Second, func() (bool, string) {
				code, body := testkit.Get(httpAddr, "/readyz")
				return code == http.StatusOK, fmt.Sprintf("%d %q", code, body)
			}, testkit.Every(200*time.Millisecond))
			logs, _ := engine(t, "logs", id)
			if readyErr != nil {
				t.Fatalf("%v\nlogs:\n%s\nnats:\n%s", readyErr, logs, natsOut.String())
			}

			// The process as the kernel sees it: uid 65532, no capabilities.
			pid := mustEngine(t, "inspect", "--format", "{{.State.Pid}}", id)
			status, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				t.Fatalf("read the container's process status: %v", err)
			}
			for _, want := range []string{"Uid:\t65532\t65532\t65532\t65532", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"} {
				if !strings.Contains(string(status), want) {
					t.Errorf("container process: no %q in /proc/%s/status:\n%s", want, pid, status)
				}
			}

			mustEngine(t, "stop", "-t", "15", id)
			if code := mustEngine(t, "inspect", "--format", "{{.State.ExitCode}}", id); code != "0" {
				logs, _ := engine(t, "logs", id)
				t.Errorf("%s exited %s after SIGTERM, want 0\n%s", image, code, logs)
			}
		})
	}
}
