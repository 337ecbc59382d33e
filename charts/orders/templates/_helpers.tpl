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

{{/* NATS_URL of the services: the Service of a single server; on a
cluster every server by its own name, so a client whose server goes away
reconnects at once to the next live member (the servers advertise no
addresses of their own: cluster.no_advertise). */}}
{{- define "orders.natsURL" -}}
{{- if and .Values.nats.enabled .Values.nats.cluster.enabled }}
{{- $urls := list }}
{{- range $i := until (int .Values.nats.cluster.replicas) }}
{{- $urls = append $urls (printf "nats://%s-%d.%s:4222" (include "orders.natsName" $) $i (include "orders.natsHeadlessName" $)) }}
{{- end }}
{{- join "," $urls }}
{{- else if .Values.nats.enabled }}
{{- printf "nats://%s:4222" (include "orders.natsName" .) }}
{{- else }}
{{- required "nats.externalURL is required when nats.enabled=false" .Values.nats.externalURL }}
{{- end }}
{{- end }}

{{/* Replicas of the stream and the bucket when not set: 3 on the chart's 3-node cluster. */}}
{{- define "orders.defaultReplicas" -}}
{{- if and .Values.nats.enabled .Values.nats.cluster.enabled }}3{{ else }}1{{ end }}
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
tests check that against `-h` of the real binaries. */}}
{{- define "orders.commonEnv" -}}
{{- $replicas := include "orders.defaultReplicas" . -}}
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
  value: {{ include "orders.natsURL" . | quote }}
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
  value: {{ (ternary $replicas .Values.stream.replicas (kindIs "invalid" .Values.stream.replicas)) | toString | quote }}
- name: STREAM_MAX_AGE
  value: {{ .Values.stream.maxAge | quote }}
- name: STREAM_MAX_BYTES
  value: {{ include "orders.streamMaxBytes" . | quote }}
- name: STREAM_DUPLICATE_WINDOW
  value: {{ .Values.stream.duplicateWindow | quote }}
- name: DEDUP_BUCKET
  value: {{ .Values.dedup.bucket | quote }}
{{- end }}

{{/* The consumer's own variables, besides the common ones. */}}
{{- define "orders.consumerEnv" -}}
- name: QUEUE_GROUP
  value: {{ .Values.consumer.queueGroup | quote }}
- name: DEAD_LETTER_SUBJECT
  value: {{ .Values.consumer.deadLetterSubject | quote }}
- name: DEDUP_TTL
  value: {{ .Values.dedup.ttl | quote }}
- name: DEDUP_MAX_BYTES
  value: {{ include "orders.dedupMaxBytes" . | quote }}
- name: DEDUP_REPLICAS
  value: {{ include "orders.dedupReplicas" . | quote }}
{{- end }}

{{- define "orders.dedupReplicas" -}}
{{- ternary (include "orders.defaultReplicas" .) .Values.dedup.replicas (kindIs "invalid" .Values.dedup.replicas) | toString }}
{{- end }}

{{/* The checksum of the auth Secret, carried by both sides: it changes (and
restarts both) only when the shared credentials change. */}}
{{- define "orders.authChecksum" -}}
{{- if and .Values.nats.auth.enabled (not .Values.nats.auth.existingSecret) }}
checksum/nats-auth: {{ include (print .Template.BasePath "/nats-auth-secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* Extra env of one side from its map, sorted by name. */}}
{{- define "orders.extraEnv" -}}
{{- range $k := keys . | sortAlpha }}
- name: {{ $k }}
  value: {{ index $ $k | toString | quote }}
{{- end }}
{{- end }}

{{- define "orders.terminationGrace" -}}
{{- add .Values.common.shutdownGraceSeconds .Values.common.terminationGraceMarginSeconds }}
{{- end }}

{{/* "true" when NATS pods go through lame-duck mode on termination:
nats.lameDuck.enabled, or when that is null, whether NATS is a cluster. */}}
{{- define "orders.natsLameDuck" -}}
{{- $ldm := .Values.nats.lameDuck.enabled }}
{{- if kindIs "invalid" $ldm }}{{ $ldm = .Values.nats.cluster.enabled }}{{ end }}
{{- if $ldm }}true{{ end }}
{{- end }}

{{/* JetStream storage budget. nats.jetstream.maxFileStore is JetStream's
limit on each server; the stream and the ledger bucket reserve their byte
limits against it (R3 places one copy of each on every server of a 3-node
cluster), so both must fit inside it with headroom for the file store's own
files, and it must fit on the PVC. */}}

{{/* orders.bytes: a size in nats units (K/M/G/T, powers of 1000) or a
Kubernetes quantity (Mi/Gi/Ti), in bytes. */}}
{{- define "orders.bytes" -}}
{{- $units := dict "" 1 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- $s := toString . -}}
{{- $suffix := regexReplaceAll "^[0-9]+" $s "" -}}
{{- if not (hasKey $units $suffix) }}{{ fail (printf "size %q: unknown unit %q" $s $suffix) }}{{ end -}}
{{- mul (regexReplaceAll "[A-Za-z]+$" $s "" | int64) (get $units $suffix) -}}
{{- end }}

{{- define "orders.storeBytes" -}}
{{- include "orders.bytes" .Values.nats.jetstream.maxFileStore -}}
{{- end }}

{{/* STREAM_MAX_BYTES: stream.maxBytes, else 60% of maxFileStore. */}}
{{- define "orders.streamMaxBytes" -}}
{{- include "orders.checkStorage" . -}}
{{- if kindIs "invalid" .Values.stream.maxBytes -}}
{{- div (mul (include "orders.storeBytes" . | int64) 60) 100 -}}
{{- else -}}
{{- .Values.stream.maxBytes | int64 -}}
{{- end -}}
{{- end }}

{{/* DEDUP_MAX_BYTES: dedup.maxBytes, else 30% of maxFileStore. */}}
{{- define "orders.dedupMaxBytes" -}}
{{- if kindIs "invalid" .Values.dedup.maxBytes -}}
{{- div (mul (include "orders.storeBytes" . | int64) 30) 100 -}}
{{- else -}}
{{- .Values.dedup.maxBytes | int64 -}}
{{- end -}}
{{- end }}

{{/* orders.checkStorage fails the rendering when the budget cannot fit:
stream + ledger + 10% headroom over maxFileStore, or maxFileStore over the
PVC. Only the chart's own NATS is checked: an external server's limits are
not in the values. */}}
{{- define "orders.checkStorage" -}}
{{- if .Values.nats.enabled -}}
{{- $store := include "orders.storeBytes" . | int64 -}}
{{- $pvc := include "orders.bytes" .Values.nats.jetstream.storage.size | int64 -}}
{{- if gt $store $pvc -}}
{{- fail (printf "nats.jetstream.maxFileStore=%s (%d bytes) exceeds nats.jetstream.storage.size=%s (%d bytes): JetStream would promise more than the volume holds; lower maxFileStore or grow the PVC (docs/kubernetes.md)" (toString .Values.nats.jetstream.maxFileStore) $store .Values.nats.jetstream.storage.size $pvc) -}}
{{- end -}}
{{- $stream := ternary (div (mul $store 60) 100) (.Values.stream.maxBytes | int64) (kindIs "invalid" .Values.stream.maxBytes) -}}
{{- $dedup := ternary (div (mul $store 30) 100) (.Values.dedup.maxBytes | int64) (kindIs "invalid" .Values.dedup.maxBytes) -}}
{{- $headroom := div $store 10 -}}
{{- if gt (add $stream $dedup $headroom) $store -}}
{{- fail (printf "stream.maxBytes (%d) + dedup.maxBytes (%d) + 10%% headroom (%d) = %d bytes exceed nats.jetstream.maxFileStore=%s (%d bytes): the stream or the ledger could not be created; lower them or raise maxFileStore (docs/kubernetes.md)" $stream $dedup $headroom (add $stream $dedup $headroom) (toString .Values.nats.jetstream.maxFileStore) $store) -}}
{{- end -}}
{{- end -}}
{{- end }}
