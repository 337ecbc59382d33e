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
