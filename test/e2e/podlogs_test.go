//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/distsys-go/orders/internal/testkit"
)

// publishedMsg is the producer's log line for an order the server
// acknowledged (services/producer: one per acknowledged publish).
const publishedMsg = "published order"

// givenUpMsg is the producer's log line for an order in flight when it was
// stopped whose acknowledgement never came: not counted as published, yet
// the server may have stored it (the acknowledgement, not the order, was
// lost), so its ledger key is no mystery.
const givenUpMsg = "order not published: shutting down"

// pubLog is the audit's record of what was published, kept off the
// cluster: it follows the log of every producer pod (and the helm test's
// pod, which publishes too) with `kubectl logs -f` from the moment the pod's
// container runs, and collects the order ids logged as acknowledged with
// the time the producer logged them. It never asks NATS: an order the
// server acknowledged and then lost is in here and not in the ledger.
type pubLog struct {
	e      env
	mu     sync.Mutex
	at     map[string]time.Time // order id -> first "published order" line
	gaveUp map[string]bool      // order ids logged as given up at shutdown
	pods   map[string]*follower // pod UID -> its follower
	errs   []string             // failed listings and follows, newest last
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once // closes stop
}

// follower is one pod's `kubectl logs -f`, started again if it ends while
// the pod's container still runs.
type follower struct {
	name, container string
	lines           int // log lines read over every follow
	follows         int // times `kubectl logs -f` was started
	done            chan struct{}
}

// publisherPods are the components whose pods publish orders.
var publisherPods = "app.kubernetes.io/component in (producer,helm-test)"

func startPubLog(e env) *pubLog {
	l := &pubLog{e: e, at: map[string]time.Time{}, gaveUp: map[string]bool{}, pods: map[string]*follower{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			l.discover()
			select {
			case <-l.stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return l
}

// logPod is what discover reads of a pod.
type logPod struct {
	Metadata struct{ Name, UID string }
	Spec     struct {
		Containers []struct{ Name string }
	}
	Status struct {
		ContainerStatuses []struct {
			State map[string]json.RawMessage // running, terminated or waiting
		} `json:"containerStatuses"`
	}
}

// started reports whether the pod's container has run (so it has a log).
func (p logPod) started() bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State["running"] != nil || cs.State["terminated"] != nil {
			return true
		}
	}
	return false
}

// discover starts a follower for every publishing pod not yet followed.
func (l *pubLog) discover() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.e.get(ctx, l.e.nsPath("v1", "pods", "app.kubernetes.io/instance="+l.e.release+","+publisherPods))
	var list struct{ Items []logPod }
	if err == nil {
		err = json.Unmarshal([]byte(out), &list)
	}
	if err != nil {
		l.failed("list pods: " + err.Error())
		return
	}
	for _, p := range list.Items {
		l.mu.Lock()
		_, seen := l.pods[p.Metadata.UID]
		l.mu.Unlock()
		if seen || !p.started() || len(p.Spec.Containers) == 0 {
			continue
		}
		f := &follower{name: p.Metadata.Name, container: p.Spec.Containers[0].Name, done: make(chan struct{})}
		l.mu.Lock()
		l.pods[p.Metadata.UID] = f
		l.mu.Unlock()
		go l.follow(p.Metadata.UID, f)
	}
}

// follow reads the pod's log until its container has exited and the pod
// is gone or its container stays terminated: `kubectl logs -f` returns when
// the container exits, and again if the API server drops the stream, so
// it runs again (from the log's start: ids are kept once) while the pod
// still has a running container.
func (l *pubLog) follow(uid string, f *follower) {
	defer close(f.done)
	for {
		l.mu.Lock()
		f.follows++
		l.mu.Unlock()
		cmd := exec.Command(l.e.kubectl, "-n", l.e.namespace, "logs", "-f", "pod/"+f.name, "-c", f.container)
		stdout, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			l.failed(fmt.Sprintf("logs -f %s: %v", f.name, err))
			return
		}
		l.read(f, stdout)
		if err := cmd.Wait(); err != nil {
			l.failed(fmt.Sprintf("logs -f %s: %v", f.name, err))
		}
		if !l.stillRunning(uid, f.name) {
			return
		}
		time.Sleep(time.Second)
	}
}

func (l *pubLog) read(f *follower, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec testkit.Record
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		l.mu.Lock()
		f.lines++
		switch id := rec.String("order_id"); {
		case id == "":
		case rec.String("msg") == publishedMsg:
			if _, dup := l.at[id]; !dup {
				l.at[id] = rec.Time()
			}
		case rec.String("msg") == givenUpMsg:
			l.gaveUp[id] = true
		}
		l.mu.Unlock()
	}
}

// stillRunning reports whether the pod uid still exists with a running
// container: then a follow that ended was cut off, not finished.
func (l *pubLog) stillRunning(uid, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.e.get(ctx, l.e.nsPath("v1", "pods/"+name, ""))
	if err != nil {
		return false
	}
	var p logPod
	if json.Unmarshal([]byte(out), &p) != nil || p.Metadata.UID != uid {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State["running"] != nil {
			return true
		}
	}
	return false
}

func (l *pubLog) failed(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, time.Now().Format("15:04:05.0")+" "+msg)
	if len(l.errs) > 20 {
		l.errs = l.errs[len(l.errs)-20:]
	}
}

// finish stops looking for new pods and waits up to bound for every
// follower to end (their pods' containers exited), then returns what a
// follower still running is called.
func (l *pubLog) finish(bound time.Duration) []string {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	fs := make([]*follower, 0, len(l.pods))
	for _, f := range l.pods {
		fs = append(fs, f)
	}
	l.mu.Unlock()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	var running []string
	expired := false
	for _, f := range fs {
		if !expired {
			select {
			case <-f.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		select {
		case <-f.done:
		default:
			running = append(running, f.name)
		}
	}
	return running
}

// ids returns every order id logged as acknowledged.
func (l *pubLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.at))
	for id := range l.at {
		out = append(out, id)
	}
	return out
}

// givenUp returns every order id logged as given up at shutdown.
func (l *pubLog) givenUp() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(maps.Keys(l.gaveUp))
}

// times returns when each acknowledged order was logged, in order.
func (l *pubLog) times() []time.Time {
	l.mu.Lock()
	out := make([]time.Time, 0, len(l.at))
	for _, at := range l.at {
		out = append(out, at)
	}
	l.mu.Unlock()
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// count returns how many orders were logged as acknowledged so far.
func (l *pubLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}

// perPod describes each followed pod: lines read, follows started.
func (l *pubLog) perPod() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, f := range l.pods {
		out = append(out, fmt.Sprintf("%-44s %7d log lines, followed %d time(s)", f.name, f.lines, f.follows))
	}
	sort.Strings(out)
	return append(out, l.errs...)
}
