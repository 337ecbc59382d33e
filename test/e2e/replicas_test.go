//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/distsys-go/orders/internal/testkit"
)

// replicaSample is one look at the consumers' autoscaling: the Deployment,
// the HPA driving it, and the lag as NATS and as the HPA's metric source
// report it.
type replicaSample struct {
	at         time.Time
	replicas   int    // Deployment spec.replicas: what the HPA asked for
	ready      int    // Deployment status.readyReplicas
	hpa        string // the HPA's name and desiredReplicas, "-" when none
	metric     string // the HPA's current metric (external average value or CPU utilisation)
	lag        int64  // NATS: num_pending + num_ack_pending of the durable, -1 unread
	pending    int64  // NATS: num_pending, -1 unread
	kedaLag    string // KEDA's external metric (the total lag it read), "-" when none
	note       string // what the scenario did just before
	err        string // what could not be read
	hpaDesired int    // the HPA's status.desiredReplicas
}

// replicaLog samples the consumers' autoscaling every interval until
// stopped, so the report shows the replica count over time next to the lag.
type replicaLog struct {
	e       env
	js      natsjs.JetStream
	start   time.Time
	mu      sync.Mutex
	samples []replicaSample
	note    string // the next sample's note
	stop    chan struct{}
	done    chan struct{}
}

func startReplicaLog(e env, js natsjs.JetStream, every time.Duration) *replicaLog {
	l := &replicaLog{e: e, js: js, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			s := l.sample(context.Background())
			l.mu.Lock()
			s.note, l.note = l.note, ""
			l.samples = append(l.samples, s)
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return l
}

// mark notes an event of the scenario in the next sample and returns when.
func (l *replicaLog) mark(note string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.note = strings.TrimPrefix(l.note+"; "+note, "; ")
	return time.Now()
}

func (l *replicaLog) close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// last returns the newest sample.
func (l *replicaLog) last() replicaSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == 0 {
		return replicaSample{replicas: -1, lag: -1, pending: -1}
	}
	return l.samples[len(l.samples)-1]
}

// firstAfter is the first sample at or after since that satisfies ok.
func (l *replicaLog) firstAfter(since time.Time, ok func(replicaSample) bool) (replicaSample, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.samples {
		if !s.at.Before(since) && ok(s) {
			return s, true
		}
	}
	return replicaSample{}, false
}

func (l *replicaLog) sample(ctx context.Context) replicaSample {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s := replicaSample{at: time.Now(), replicas: -1, ready: -1, lag: -1, pending: -1, hpa: "-", metric: "-", kedaLag: "-"}
	var errs []string
	var deploy struct {
		Spec   struct{ Replicas int }
		Status struct {
			ReadyReplicas int `json:"readyReplicas"`
		}
	}
	if out, err := l.e.get(ctx, l.e.nsPath("apps/v1", "deployments/"+l.e.release+"-consumer", "")); err != nil {
		errs = append(errs, "deployment: "+err.Error())
	} else if err := json.Unmarshal([]byte(out), &deploy); err != nil {
		errs = append(errs, "deployment: "+err.Error())
	} else {
		s.replicas, s.ready = deploy.Spec.Replicas, deploy.Status.ReadyReplicas
	}
	if h, err := l.e.hpa(ctx); err != nil {
		errs = append(errs, "hpa: "+err.Error())
	} else if h != nil {
		s.hpa, s.hpaDesired, s.metric = h.Metadata.Name, h.Status.DesiredReplicas, h.current()
		if v, err := l.e.kedaMetric(ctx, h); err != nil {
			errs = append(errs, "keda metric: "+err.Error())
		} else {
			s.kedaLag = v
		}
	}
	if info, err := l.consumerInfo(ctx); err != nil {
		errs = append(errs, "nats: "+err.Error())
	} else {
		s.lag, s.pending = int64(info.NumPending)+int64(info.NumAckPending), int64(info.NumPending)
	}
	s.err = strings.Join(errs, "; ")
	return s
}

func (l *replicaLog) consumerInfo(ctx context.Context) (*natsjs.ConsumerInfo, error) {
	c, err := l.js.Consumer(ctx, names.Stream, names.Durable)
	if err != nil {
		return nil, fmt.Errorf("durable %s: %w", names.Durable, err)
	}
	return c.Info(ctx)
}

// table is the replica count over time: a row whenever the replicas, the
// ready pods or the HPA's wish changed, the scenario did something, or
// every tenth sample (so the lag's course shows too).
func (l *replicaLog) table(title string) *testkit.Table {
	l.mu.Lock()
	defer l.mu.Unlock()
	tb := &testkit.Table{Title: title, Header: []string{"t", "replicas", "ready", "HPA desired", "HPA metric", "KEDA lag", "NATS lag", "pending", "event"},
		Notes: []string{
			"t: seconds since the sampler started; replicas/ready: the consumer Deployment's spec.replicas and ready pods",
			"HPA metric: the HPA's current average (KEDA: lag per replica; CPU: utilisation of the request)",
			"KEDA lag: the external metric KEDA serves (num_pending + num_ack_pending as the scaler read it)",
			"NATS lag / pending: the durable's num_pending + num_ack_pending / num_pending, asked of NATS by the test",
		}}
	var prev replicaSample
	for i, s := range l.samples {
		changed := i == 0 || s.replicas != prev.replicas || s.ready != prev.ready || s.hpaDesired != prev.hpaDesired || s.hpa != prev.hpa
		if changed || s.note != "" || i%10 == 0 || i == len(l.samples)-1 {
			ev := s.note
			if s.err != "" {
				ev = strings.TrimPrefix(ev+"; unread: "+s.err, "; ")
			}
			tb.Add(fmt.Sprintf("%.0f", s.at.Sub(l.start).Seconds()), s.replicas, s.ready,
				fmt.Sprintf("%s=%d", s.hpa, s.hpaDesired), s.metric, s.kedaLag, s.lag, s.pending, ev)
		}
		prev = s
	}
	return tb
}

// hpaObject is what the sampler reads of a HorizontalPodAutoscaler.
type hpaObject struct {
	Metadata struct{ Name string }
	Spec     struct {
		Metrics []struct {
			External *struct {
				Metric struct {
					Name     string
					Selector struct {
						MatchLabels map[string]string `json:"matchLabels"`
					}
				}
			}
		}
	}
	Status struct {
		DesiredReplicas int `json:"desiredReplicas"`
		CurrentMetrics  []struct {
			External *struct {
				Current struct {
					AverageValue string `json:"averageValue"`
				}
			}
			Resource *struct {
				Current struct {
					AverageUtilization *int `json:"averageUtilization"`
				}
			}
		} `json:"currentMetrics"`
	}
}

func (h *hpaObject) current() string {
	for _, m := range h.Status.CurrentMetrics {
		switch {
		case m.External != nil:
			return m.External.Current.AverageValue
		case m.Resource != nil && m.Resource.Current.AverageUtilization != nil:
			return fmt.Sprintf("%d%% cpu", *m.Resource.Current.AverageUtilization)
		}
	}
	return "-"
}

// hpa returns the namespace's HorizontalPodAutoscaler (KEDA's or the
// chart's), nil when there is none.
func (e env) hpa(ctx context.Context) (*hpaObject, error) {
	out, err := e.get(ctx, e.nsPath("autoscaling/v2", "horizontalpodautoscalers", ""))
	if err != nil {
		return nil, err
	}
	var list struct{ Items []hpaObject }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("decode hpa: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	return &list.Items[0], nil
}

// kedaMetric asks the external metrics API (KEDA's adapter) for the value
// the HPA's external metric has now: what the scaler read from /jsz.
func (e env) kedaMetric(ctx context.Context, h *hpaObject) (string, error) {
	for _, m := range h.Spec.Metrics {
		if m.External == nil {
			continue
		}
		var sel []string
		for k, v := range m.External.Metric.Selector.MatchLabels {
			sel = append(sel, k+"="+v)
		}
		out, err := e.get(ctx, e.nsPath("external.metrics.k8s.io/v1beta1", m.External.Metric.Name, strings.Join(sel, ",")))
		if err != nil {
			return "", err
		}
		var list struct {
			Items []struct{ Value string }
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return "", fmt.Errorf("decode external metric: %w", err)
		}
		if len(list.Items) == 0 {
			return "", fmt.Errorf("external metric %s: no items", m.External.Metric.Name)
		}
		return list.Items[0].Value, nil
	}
	return "-", nil
}
