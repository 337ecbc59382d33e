package chart

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/distsys-go/orders/internal/natstest"
	"github.com/distsys-go/orders/internal/testkit"
)

// natsServer is one server of the rendered StatefulSet, rewritten to run on
// this machine: only the paths and ports that point into the pod change.
type natsServer struct {
	pod                 string // the pod it stands for, orders-nats-<i>
	conf                string // path of its nats.conf
	client, http, route int    // its local ports
	env                 []string
	mounts              map[string]string // the Secret volumes' mount paths → local folders
}

// localNATS is the rendered NATS: one server per StatefulSet replica, and
// the addresses the services would dial mapped to local ones.
type localNATS struct {
	servers []natsServer
	hosts   map[string]string // "orders-nats:4222" and each pod's host:4222 → 127.0.0.1:<port>
}

// podHost matches a pod's name under the headless Service, with the port.
var podHost = regexp.MustCompile(`orders-nats-(\d+)\.orders-nats-headless:(4222|6222)`)

// mounts writes the files of a container's Secret and projected volumes
// (from the rendered Secrets, or the test's: secretData, "name/key" →
// content) into local folders, as the kubelet mounts them, and returns
// mount path → folder. A key no Secret has fails the test.
func mounts(t *testing.T, o obj, ctr map[string]any, secretData map[string]string) map[string]string {
	t.Helper()
	volumes := map[string]any{}
	list, _ := get(podSpec(o), "volumes").([]any)
	for _, v := range list {
		volumes[str(v, "name")] = v
	}
	out := map[string]string{}
	vms, _ := ctr["volumeMounts"].([]any)
	for _, vm := range vms {
		v := volumes[str(vm, "name")]
		var sources []any // each {name, items}
		switch {
		case get(v, "secret") != nil:
			sources = []any{map[string]any{"name": str(v, "secret", "secretName"), "items": get(v, "secret", "items")}}
		case get(v, "projected") != nil:
			ps, _ := get(v, "projected", "sources").([]any)
			for _, p := range ps {
				sources = append(sources, get(p, "secret"))
			}
		default:
			continue // config, pid and data: the tests rewrite those paths themselves
		}
		dir := t.TempDir()
		for _, src := range sources {
			secret := str(src, "name")
			items, _ := get(src, "items").([]any)
			if items == nil { // the whole Secret
				for k := range secretData {
					if n, key, _ := strings.Cut(k, "/"); n == secret {
						items = append(items, map[string]any{"key": key, "path": key})
					}
				}
			}
			if len(items) == 0 {
				t.Fatalf("%s mounts Secret %s, which has no data here", o.key(), secret)
			}
			for _, it := range items {
				val, ok := secretData[secret+"/"+str(it, "key")]
				if !ok {
					t.Fatalf("%s mounts %s key %s, which no Secret has", o.key(), secret, str(it, "key"))
				}
				if err := os.WriteFile(filepath.Join(dir, str(it, "path")), []byte(val), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		out[str(vm, "mountPath")] = dir
	}
	return out
}

// localPaths rewrites each mount path in s to its local folder.
func localPaths(s string, mounts map[string]string) string {
	for path, dir := range mounts {
		s = strings.ReplaceAll(s, path+"/", dir+"/")
	}
	return s
}

// renderedNATS writes each server's configuration from the rendered
// ConfigMap and its environment from the StatefulSet (secrets from
// secretEnv, $(VAR) expanded as the kubelet does).
func renderedNATS(t *testing.T, objs []obj, secretEnv map[string]string) *localNATS {
	t.Helper()
	sts := mustFind(t, objs, "StatefulSet", name("nats"))
	replicas := int(get(sts, "spec", "replicas").(float64))
	conf := str(mustFind(t, objs, "ConfigMap", name("nats-config")), "data", "nats.conf")
	l := &localNATS{hosts: map[string]string{}}
	ports := natstest.FreePorts(t, 3*replicas)
	for i := 0; i < replicas; i++ {
		l.servers = append(l.servers, natsServer{pod: fmt.Sprintf("orders-nats-%d", i),
			client: ports[3*i], http: ports[3*i+1], route: ports[3*i+2]})
	}
	local := func(s string) string {
		return podHost.ReplaceAllStringFunc(s, func(m string) string {
			sub := podHost.FindStringSubmatch(m)
			var i int
			fmt.Sscan(sub[1], &i)
			if i >= len(l.servers) {
				t.Fatalf("%s names pod %d of a %d-pod StatefulSet", m, i, len(l.servers))
			}
			if sub[2] == "6222" {
				return fmt.Sprintf("127.0.0.1:%d", l.servers[i].route)
			}
			return fmt.Sprintf("127.0.0.1:%d", l.servers[i].client)
		})
	}
	env, order := containerEnv(t, containers(sts)[0])
	for i := range l.servers {
		s := &l.servers[i]
		s.mounts = mounts(t, sts, containers(sts)[0], secretEnv)
		dir := t.TempDir()
		s.conf = filepath.Join(dir, "nats.conf")
		rewrites := []struct{ re, repl string }{
			{`(?m)^(\s*)store_dir: .*$`, `${1}store_dir: "` + filepath.Join(dir, "js") + `"`},
			{`(?m)^(\s*)pid_file: .*$`, `${1}pid_file: "` + filepath.Join(dir, "nats.pid") + `"`},
			{`(?m)^(\s*)port: 4222$`, fmt.Sprintf("${1}port: %d", s.client)},
			{`(?m)^(\s*)(https?_port): 8222$`, fmt.Sprintf("${1}${2}: %d", s.http)},
			{`(?m)^(\s*)port: 6222$`, fmt.Sprintf("${1}port: %d", s.route)},
		}
		c := conf
		for _, r := range rewrites {
			re := regexp.MustCompile(r.re)
			if !re.MatchString(c) && !strings.Contains(r.re, "6222") {
				t.Fatalf("rendered nats.conf has no line matching %s:\n%s", r.re, conf)
			}
			c = re.ReplaceAllString(c, r.repl)
		}
		c = localPaths(c, s.mounts)
		if err := os.WriteFile(s.conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		defined := map[string]string{}
		for _, n := range order {
			v := env[n]
			val := expandK8s(v.value, defined)
			switch {
			case v.fieldPath == "metadata.name":
				val = s.pod
			case v.secret != "":
				var ok bool
				if val, ok = secretEnv[v.secret+"/"+v.secretKey]; !ok {
					t.Fatalf("NATS env %s from Secret %s key %s, which is not rendered", n, v.secret, v.secretKey)
				}
			}
			defined[n] = val
			s.env = append(s.env, n+"="+local(val))
		}
		l.hosts[fmt.Sprintf("orders-nats-%d.orders-nats-headless:4222", i)] = fmt.Sprintf("127.0.0.1:%d", s.client)
	}
	l.hosts["orders-nats:4222"] = fmt.Sprintf("127.0.0.1:%d", l.servers[0].client)
	return l
}

// expandK8s expands $(VAR) to the value of a variable defined before it,
// as the kubelet does in env values: $$ is a literal $, and an unknown
// reference stays as it is.
func expandK8s(s string, defined map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := defined[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// start runs every server and waits until each answers the startup
// probe's /healthz, which on a cluster needs routes and a meta leader.
func (l *localNATS) start(t *testing.T, bin string) []*testkit.Proc {
	t.Helper()
	var procs []*testkit.Proc
	for _, s := range l.servers {
		procs = append(procs, testkit.Start(t, bin, s.env, testkit.Name(s.pod), testkit.Args("-c", s.conf)))
	}
	for i, s := range l.servers {
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", s.http), 45*time.Second, procs[i])
	}
	return procs
}

// localURL maps a NATS_URL of the chart to the local servers; an address
// the rendered NATS does not serve fails the test.
func (l *localNATS) localURL(t *testing.T, url string) string {
	t.Helper()
	var out []string
	for _, u := range strings.Split(url, ",") {
		scheme, host, ok := strings.Cut(u, "://")
		local, known := l.hosts[host]
		if !ok || !known || (scheme != "nats" && scheme != "tls") {
			t.Fatalf("NATS_URL %q: %q is not an address of the chart's NATS (%v)", url, u, sortedKeys(l.hosts))
		}
		out = append(out, scheme+"://"+local)
	}
	return strings.Join(out, ",")
}

// routeNames are the server names a server has routes to, from /routez.
func routeNames(t *testing.T, httpPort int) (map[string]bool, error) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", httpPort))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rz struct {
		Routes []struct {
			RemoteName string `json:"remote_name"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rz); err != nil {
		return nil, fmt.Errorf("/routez: %w", err)
	}
	names := map[string]bool{}
	for _, r := range rz.Routes {
		names[r.RemoteName] = true
	}
	return names, nil
}
