//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// env is the scenario's configuration; scripts/e2e.sh sets it.
type env struct {
	kubectl, helm, namespace, release string
	tag, tag2, artifacts, chart       string
	prevTag, prevRef                  string // the release before event versions (step 10)
	rate, helmTimeout                 string
	consumers                         int
	// run is E2E_NAMESPACE, the run's base namespace: every scenario's
	// namespace carries it as its runLabel.
	run string
	// api is the address of the run's `kubectl proxy` (startAPIProxy).
	api string
}

// runLabel marks every namespace a scenario creates with the run's base
// namespace, so scripts/e2e.sh finds them by label (to remove them after
// collecting a failed run's artifacts) instead of keeping a list of the
// scenarios' namespaces of its own.
const runLabel = "orders-e2e-run"

// createNamespace creates the scenario's namespace, labelled as the run's.
func (e env) createNamespace(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := run(ctx, e.kubectl, "create", "namespace", e.namespace); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	if _, err := run(ctx, e.kubectl, "label", "namespace", e.namespace, "--overwrite", runLabel+"="+e.run); err != nil {
		t.Fatal(err)
	}
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func loadEnv(t *testing.T) env {
	t.Helper()
	root := repoRoot(t)
	e := env{
		kubectl:     getenv("E2E_KUBECTL", "kubectl"),
		helm:        getenv("E2E_HELM", filepath.Join(root, "bin", "helm")),
		namespace:   getenv("E2E_NAMESPACE", "orders-e2e"),
		release:     getenv("E2E_RELEASE", "orders"),
		tag:         os.Getenv("E2E_TAG"), // empty: the chart's appVersion
		tag2:        getenv("E2E_TAG2", "dev2"),
		prevTag:     getenv("E2E_PREVIOUS_TAG", "previous"),
		prevRef:     getenv("E2E_PREVIOUS_RELEASE_REF", "fce78d5"),
		artifacts:   getenv("E2E_ARTIFACTS", t.TempDir()),
		chart:       filepath.Join(root, "charts", "orders"),
		rate:        getenv("E2E_PUBLISH_RATE", "200"),
		helmTimeout: getenv("E2E_HELM_TIMEOUT", "5m"),
		consumers:   5,
	}
	e.run = e.namespace
	if n, err := strconv.Atoi(getenv("E2E_CONSUMERS", "5")); err == nil && n > 0 {
		e.consumers = n
	}
	if _, err := os.Stat(e.helm); err != nil {
		t.Fatalf("helm at %s: %v (make e2e installs it; run it through make e2e)", e.helm, err)
	}
	e.api = startAPIProxy(t, e.kubectl)
	return e
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// run runs a command and returns its stdout; stderr goes into the error.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (e env) kc(ctx context.Context, args ...string) (string, error) {
	return run(ctx, e.kubectl, append([]string{"-n", e.namespace}, args...)...)
}

func (e env) mustKC(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	t.Logf("kubectl %s", strings.Join(args, " "))
	out, err := e.kc(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e env) mustHelm(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	args = append(args, "--namespace", e.namespace)
	t.Logf("helm %s", strings.Join(args, " "))
	out, err := run(ctx, e.helm, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pod is what the scenario looks at in a pod.
type pod struct {
	Name, UID, Image string
	MemoryLimit      string // of the first container, as written ("128Mi")
	Ready, Deleting  bool
	Restarts         int
}

func (e env) pods(ctx context.Context, component string) ([]pod, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := e.get(ctx, e.nsPath("v1", "pods", "app.kubernetes.io/instance="+e.release+",app.kubernetes.io/component="+component))
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name, UID         string
				DeletionTimestamp *string `json:"deletionTimestamp"`
			}
			Spec struct {
				Containers []struct {
					Image     string
					Resources struct {
						Limits struct{ Memory string }
					}
				}
			}
			Status struct {
				Conditions []struct{ Type, Status string }
				// restartCount per container
				ContainerStatuses []struct {
					RestartCount int `json:"restartCount"`
				} `json:"containerStatuses"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("decode pods: %w", err)
	}
	var pods []pod
	for _, it := range list.Items {
		p := pod{Name: it.Metadata.Name, UID: it.Metadata.UID, Deleting: it.Metadata.DeletionTimestamp != nil}
		if len(it.Spec.Containers) > 0 {
			p.Image = it.Spec.Containers[0].Image
			p.MemoryLimit = it.Spec.Containers[0].Resources.Limits.Memory
		}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				p.Ready = true
			}
		}
		for _, cs := range it.Status.ContainerStatuses {
			p.Restarts += cs.RestartCount
		}
		pods = append(pods, p)
	}
	return pods, nil
}

func (e env) mustPods(t *testing.T, ctx context.Context, component string) []pod {
	t.Helper()
	p, err := e.pods(ctx, component)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// String says what the scenario waits on in a pod, for progress lines.
func (p pod) String() string {
	state := "not ready"
	if p.Ready {
		state = "ready"
	}
	if p.Deleting {
		state += ", terminating"
	}
	return fmt.Sprintf("%s %s (%s, %d restarts)", p.Name, state, p.Image, p.Restarts)
}

func describePods(pods []pod) string {
	seen := make([]string, len(pods))
	for i, p := range pods {
		seen[i] = p.String()
	}
	return describe(seen)
}

// describe joins what a wait saw, "none" for nothing.
func describe(seen []string) string {
	if len(seen) == 0 {
		return "none"
	}
	return strings.Join(seen, "; ")
}

// ---- /metrics through the API server's pod proxy ---------------------------

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)`)

// metrics returns each metric of pod summed over its labels.
func (e env) metrics(ctx context.Context, podName string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := e.get(ctx, e.nsPath("v1", "pods/"+podName+":8080/proxy/metrics", ""))
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if g := sampleLine.FindStringSubmatch(line); g != nil {
			if v, err := strconv.ParseFloat(g[3], 64); err == nil {
				m[g[1]] += v
			}
		}
	}
	return m, nil
}

// scraper keeps the last /metrics of every producer and consumer pod it has
// seen, so counters of pods that are gone still add up (to their last
// scrape, at most one interval before the pod went away).
type scraper struct {
	e        env
	mu       sync.Mutex
	last     map[string]map[string]float64 // pod UID -> metrics
	comp     map[string]string             // pod UID -> component
	name     map[string]string             // pod UID -> name
	at       map[string]time.Time          // pod UID -> last successful scrape
	errs     map[string]string             // pod UID -> last failed scrape, if after the last success
	listErr  string                        // the last failed listing of pods
	inflight map[string]bool               // pod UID -> a scrape is running
	// processed holds every scrape of a consumer pod that was ready and
	// not terminating when listed: when each one was processing.
	processed map[string][]sample // pod UID -> scrapes, oldest first
	stop      chan struct{}
	done      chan struct{}
}

func startScraper(e env, every time.Duration) *scraper {
	s := &scraper{e: e, last: map[string]map[string]float64{}, comp: map[string]string{}, name: map[string]string{}, at: map[string]time.Time{}, errs: map[string]string{}, inflight: map[string]bool{}, processed: map[string][]sample{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			s.scrapeAsync()
			select {
			case <-s.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return s
}

// scrapeOnce scrapes every pod whose previous scrape is done, and waits for
// them. A terminating pod can hold a scrape for its full timeout; the loop
// uses scrapeAsync so such a pod does not stall the others.
func (s *scraper) scrapeOnce() { s.scrape(true) }

func (s *scraper) scrapeAsync() { s.scrape(false) }

func (s *scraper) scrape(wait bool) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, comp := range []string{"producer", "consumer"} {
		pods, err := s.e.pods(ctx, comp)
		if err != nil {
			s.mu.Lock()
			s.listErr = time.Now().Format("15:04:05.0") + " " + err.Error()
			s.mu.Unlock()
			continue
		}
		for _, p := range pods {
			s.mu.Lock()
			busy := s.inflight[p.UID]
			s.inflight[p.UID] = true
			s.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := s.e.metrics(ctx, p.Name)
				s.mu.Lock()
				defer s.mu.Unlock()
				delete(s.inflight, p.UID)
				if err != nil {
					msg := err.Error()
					if i := strings.LastIndex(msg, "/proxy/metrics: "); i >= 0 {
						msg = msg[i+len("/proxy/metrics: "):]
					}
					if len(msg) > 90 {
						msg = msg[:90] + "…"
					}
					s.errs[p.UID] = time.Now().Format("15:04:05.0") + " " + msg
					return
				}
				delete(s.errs, p.UID)
				now := time.Now()
				s.last[p.UID], s.comp[p.UID], s.name[p.UID], s.at[p.UID] = m, comp, p.Name, now
				if comp == "consumer" && p.Ready && !p.Deleting {
					s.processed[p.UID] = append(s.processed[p.UID], sample{at: now, v: m["orders_processed_total"]})
				}
			}()
		}
	}
	if wait {
		wg.Wait()
	}
}

// sum adds metric over every pod of component ever scraped.
func (s *scraper) sum(component, metric string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v float64
	for uid, m := range s.last {
		if s.comp[uid] == component {
			v += m[metric]
		}
	}
	return v
}

// perPod describes each pod's last scrape: its main counter and when.
func (s *scraper) perPod() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for uid, m := range s.last {
		metric := "orders_processed_total"
		if s.comp[uid] == "producer" {
			metric = "orders_published_total"
		}
		line := fmt.Sprintf("%-40s %-24s %8.0f  last scraped %s", s.name[uid], metric, m[metric], s.at[uid].Format("15:04:05.0"))
		if e := s.errs[uid]; e != "" {
			line += "; then failed: " + e
		}
		out = append(out, line)
	}
	sort.Strings(out)
	if s.listErr != "" {
		out = append(out, "last failed pod listing: "+s.listErr)
	}
	return out
}

func (s *scraper) pods(component string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.comp {
		if c == component {
			n++
		}
	}
	return n
}

func (s *scraper) close() {
	close(s.stop)
	<-s.done
}

// quantity parses a Kubernetes quantity in the forms the tests meet: the
// external metrics API's ("674", "400m") and the chart's memory limits
// ("128Mi").
func quantity(q string) (float64, error) {
	if v, ok := strings.CutSuffix(q, "m"); ok {
		f, err := strconv.ParseFloat(v, 64)
		return f / 1000, err
	}
	for i, unit := range []string{"Ki", "Mi", "Gi"} {
		if v, ok := strings.CutSuffix(q, unit); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * float64(int64(1)<<(10*(i+1))), err
		}
	}
	return strconv.ParseFloat(q, 64)
}
