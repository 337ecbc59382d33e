{{/* Chart name, truncated to fit label values. */}}
{{- define "orders.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: <release>-orders, or the release name if it contains the chart name. */}}
{{- define "orders.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels every object carries. No version label here: it would make a
change of one side's image touch the other side's objects. */}}
{{- define "orders.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "orders.name" . }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "consumer"). */}}
{{- define "orders.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orders.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "orders.componentLabels" -}}
{{ include "orders.labels" .root }}
{{ include "orders.selectorLabels" . }}
{{- end }}

{{- define "orders.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "orders.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference of one side; call with (dict "root" $ "image" .Values.producer.image). */}}
{{- define "orders.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{- define "orders.natsName" -}}
{{- printf "%s-nats" (include "orders.fullname" .) }}
{{- end }}

{{- define "orders.natsHeadlessName" -}}
{{- printf "%s-nats-headless" (include "orders.fullname" .) }}
{{- end }}

{{- define "orders.authSecretName" -}}
{{- if .Values.nats.auth.existingSecret }}
{{- .Values.nats.auth.existingSecret }}
{{- else }}
{{- printf "%s-nats-auth" (include "orders.fullname" .) }}
{{- end }}
{{- end }}

{{/* The environment both services read: NATS connection, delivery, stream,
bucket, HTTP and logging. Every name is one both binaries read; the chart
tests check that against `-h` of the real binaries.
NATS_URL is the Service of a single server; on a cluster every server by
its own name, so a client whose server goes away reconnects at once to the
next live member (the servers advertise no addresses of their own:
cluster.no_advertise). */}}
{{- define "orders.commonEnv" -}}
{{- $js := include "orders.jetstreamLimits" . | fromYaml -}}
{{- $natsURL := "" -}}
{{- if and .Values.nats.enabled .Values.nats.cluster.enabled -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.nats.cluster.replicas) -}}
{{- $urls = append $urls (printf "nats://%s-%d.%s:4222" (include "orders.natsName" $) $i (include "orders.natsHeadlessName" $)) -}}
{{- end -}}
{{- $natsURL = join "," $urls -}}
{{- else if .Values.nats.enabled -}}
{{- $natsURL = printf "nats://%s:4222" (include "orders.natsName" .) -}}
{{- else -}}
{{- $natsURL = required "nats.externalURL is required when nats.enabled=false" .Values.nats.externalURL -}}
{{- end -}}
- name: DELIVERY_MODE
  value: {{ .Values.common.deliveryMode | quote }}
- name: SUBJECT
  value: {{ .Values.common.subject | quote }}
- name: SHUTDOWN_GRACE
  value: {{ printf "%ds" (int .Values.common.shutdownGraceSeconds) | quote }}
- name: LOG_LEVEL
  value: {{ .Values.common.logLevel | quote }}
- name: HTTP_ADDR
  value: {{ printf ":%d" (int .Values.common.httpPort) | quote }}
- name: NATS_URL
  value: {{ $natsURL | quote }}
- name: NATS_RECONNECT_WAIT
  value: {{ .Values.common.natsReconnectWait | quote }}
{{- if .Values.nats.auth.enabled }}
- name: NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "orders.authSecretName" . }}
      key: NATS_USER
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "orders.authSecretName" . }}
      key: NATS_PASSWORD
{{- end }}
- name: STREAM_NAME
  value: {{ .Values.stream.name | quote }}
- name: STREAM_SUBJECTS
  value: {{ join "," .Values.stream.subjects | quote }}
- name: STREAM_REPLICAS
  value: {{ $js.stream.replicas | quote }}
- name: STREAM_MAX_AGE
  value: {{ .Values.stream.maxAge | quote }}
- name: STREAM_MAX_BYTES
  value: {{ $js.stream.maxBytes | quote }}
- name: STREAM_DUPLICATE_WINDOW
  value: {{ .Values.stream.duplicateWindow | quote }}
- name: DEDUP_BUCKET
  value: {{ .Values.dedup.bucket | quote }}
{{- end }}

{{/* The checksum of the auth Secret, carried by both sides: it changes (and
restarts both) only when the shared credentials change. */}}
{{- define "orders.authChecksum" -}}
{{- if and .Values.nats.auth.enabled (not .Values.nats.auth.existingSecret) }}
checksum/nats-auth: {{ include (print .Template.BasePath "/nats-auth-secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* orders.bytes: a size in nats units (K/M/G/T, powers of 1000) or a
Kubernetes quantity (Mi/Gi/Ti), in bytes. */}}
{{- define "orders.bytes" -}}
{{- $units := dict "" 1 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- $s := toString . -}}
{{- $suffix := regexReplaceAll "^[0-9]+" $s "" -}}
{{- if not (hasKey $units $suffix) }}{{ fail (printf "size %q: unknown unit %q" $s $suffix) }}{{ end -}}
{{- mul (regexReplaceAll "[A-Za-z]+$" $s "" | int64) (get $units $suffix) -}}
{{- end }}

{{/* The stream's and the ledger bucket's replicas and byte limits, as YAML
{stream: {replicas, maxBytes}, dedup: {replicas, maxBytes}} of strings:
the values, or where one is null its default. Replicas default to 3 on the
chart's 3-node cluster, else 1. Both reserve their bytes against
nats.jetstream.maxFileStore, JetStream's limit on each server (R3 places a
copy of each on every server of the cluster), so by default the stream
gets 60% and the ledger 30% of it, leaving 10% for the file store's own
files. Rendering fails when the budget cannot fit: stream + ledger + 10%
headroom over maxFileStore, or maxFileStore over the PVC. Only the
chart's own NATS is checked: an external server's limits are not in the
values. */}}
{{- define "orders.jetstreamLimits" -}}
{{- $store := include "orders.bytes" .Values.nats.jetstream.maxFileStore | int64 -}}
{{- $replicas := ternary 3 1 (and .Values.nats.enabled .Values.nats.cluster.enabled) -}}
{{- $out := dict -}}
{{- range $key, $percent := dict "stream" 60 "dedup" 30 -}}
{{- $v := index $.Values $key -}}
{{- $_ := set $out $key (dict
  "replicas" (ternary $replicas $v.replicas (kindIs "invalid" $v.replicas) | toString)
  "maxBytes" (ternary (div (mul $store $percent) 100) ($v.maxBytes | int64) (kindIs "invalid" $v.maxBytes) | toString)) -}}
{{- end -}}
{{- if .Values.nats.enabled -}}
{{- $pvc := include "orders.bytes" .Values.nats.jetstream.storage.size | int64 -}}
{{- if gt $store $pvc -}}
{{- fail (printf "nats.jetstream.maxFileStore=%s (%d bytes) exceeds nats.jetstream.storage.size=%s (%d bytes): JetStream would promise more than the volume holds; lower maxFileStore or grow the PVC (docs/kubernetes.md)" (toString .Values.nats.jetstream.maxFileStore) $store .Values.nats.jetstream.storage.size $pvc) -}}
{{- end -}}
{{- $stream := $out.stream.maxBytes | int64 -}}
{{- $dedup := $out.dedup.maxBytes | int64 -}}
{{- $headroom := div $store 10 -}}
{{- if gt (add $stream $dedup $headroom) $store -}}
{{- fail (printf "stream.maxBytes (%d) + dedup.maxBytes (%d) + 10%% headroom (%d) = %d bytes exceed nats.jetstream.maxFileStore=%s (%d bytes): the stream or the ledger could not be created; lower them or raise maxFileStore (docs/kubernetes.md)" $stream $dedup $headroom (add $stream $dedup $headroom) (toString .Values.nats.jetstream.maxFileStore) $store) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end }}
