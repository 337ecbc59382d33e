package main

import (
	"bytes"
	"strings"
	"testing"
)

const manifests = `# a leading comment
apiVersion: v1
kind: Service
metadata: {name: keda-metrics-apiserver}
---
apiVersion: apiregistration.k8s.io/v1
kind: "APIService"   # quoted, with a comment: the old awk filter missed it
metadata:
  name: v1beta1.external.metrics.k8s.io
--- # a separator with a comment
apiVersion: apps/v1
metadata: {name: keda-operator}
spec:
  template:
    spec:
      containers:
        - name: keda
          args: ["--kind: APIService"]
kind: Deployment
---

---
data:
  text: |
    ---
    kind: APIService
kind: ConfigMap
`

func TestFilter(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		not   bool
		names []string // metadata.name or first key of each document printed
	}{
		{"the APIService alone", "APIService", false, []string{"v1beta1.external.metrics.k8s.io"}},
		{"everything but the APIService", "APIService", true, []string{"keda-metrics-apiserver", "keda-operator", "text: |"}},
		{"a kind named only in a value or a block", "Deployment", false, []string{"keda-operator"}},
		{"a kind that is not there", "Secret", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := filter(&out, []byte(manifests), tc.kind, tc.not); err != nil {
				t.Fatal(err)
			}
			docs := split(out.Bytes())
			if last := docs[len(docs)-1]; len(last) != 0 {
				t.Errorf("output does not end with a separator: %q", out.String())
			}
			docs = docs[:len(docs)-1]
			if len(docs) != len(tc.names) {
				t.Fatalf("printed %d documents, want %d:\n%s", len(docs), len(tc.names), out.String())
			}
			for i, want := range tc.names {
				if !strings.Contains(string(docs[i]), want) {
					t.Errorf("document %d does not name %q:\n%s", i+1, want, docs[i])
				}
			}
		})
	}
}

// TestFilterKeepsDocuments: a printed document is byte for byte the input's.
func TestFilterKeepsDocuments(t *testing.T) {
	var out bytes.Buffer
	if err := filter(&out, []byte(manifests), "ConfigMap", false); err != nil {
		t.Fatal(err)
	}
	want := "data:\n  text: |\n    ---\n    kind: APIService\nkind: ConfigMap\n---\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestFilterRejectsBrokenYAML(t *testing.T) {
	err := filter(&bytes.Buffer{}, []byte("kind: Service\n---\nkind: [Deployment\n"), "Service", false)
	if err == nil || !strings.Contains(err.Error(), "document 2") {
		t.Errorf("error %v, want one naming document 2", err)
	}
}
