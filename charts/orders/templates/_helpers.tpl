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

{{/* The NATS identities, in the order nats.conf lists them: values key
→ NATS user name. */}}
{{- define "orders.identities" -}}
producer: producer
consumer: consumer
provisioner: provisioner
helmTest: helm-test
deadLetters: dead-letters
admin: admin
{{- end }}

{{/* The Secret holding an identity's credential; call with (dict "root" $
"id" "helmTest"). */}}
{{- define "orders.identitySecret" -}}
{{- $u := index .root.Values.nats.auth.users .id }}
{{- default (printf "%s-nats-%s" (include "orders.fullname" .root) (kebabcase .id)) $u.existingSecret }}
{{- end }}

{{/* The Secret of the server certificate (tls.crt, tls.key, ca.crt): the
user's with source=secret (and with nats.enabled=false, where only its
ca.crt is read), else the chart's or cert-manager's. */}}
{{- define "orders.tlsSecret" -}}
{{- if or (eq .Values.nats.tls.source "secret") (not .Values.nats.enabled) }}
{{- required "nats.tls.secretName is required with nats.tls.source=secret and with nats.enabled=false (the Secret whose ca.crt signs the server certificate)" .Values.nats.tls.secretName }}
{{- else }}
{{- printf "%s-nats-tls" (include "orders.fullname" .) }}
{{- end }}
{{- end }}

{{/* The provision Job runs (and the services do not create the stream,
the durable and the bucket themselves: PROVISION=false) whenever NATS has
authorization, as only the provisioner identity may create them. */}}
{{- define "orders.provisionJob" -}}
{{- if .Values.nats.auth.enabled }}true{{ end }}
{{- end }}

{{/* Contradictions no schema can see; fails rendering with the reason. */}}
{{- define "orders.validateSecurity" -}}
{{- $t := .Values.nats.tls }}
{{- if $t.enabled }}
{{- if and $t.monitoring $t.mutual }}
{{- fail "nats.tls.monitoring and nats.tls.mutual cannot both be on: with mutual TLS the monitoring port asks for a client certificate, which the kubelet's probes (and KEDA) cannot present" }}
{{- end }}
{{- if and $t.mutual (eq $t.source "secret") }}
{{- fail "nats.tls.mutual with nats.tls.source=secret: the chart has no CA key to sign the clients' certificates; use source=generate or source=certManager" }}
{{- end }}
{{- if and $t.mutual (not .Values.nats.enabled) }}
{{- fail "nats.tls.mutual with nats.enabled=false: the chart cannot issue client certificates for an external server" }}
{{- end }}
{{- end }}
{{- if .Values.nats.auth.enabled }}
{{- range $id, $user := include "orders.identities" . | fromYaml }}
{{- $u := index $.Values.nats.auth.users $id }}
{{- if and $u.nkey (not $u.existingSecret) (ne $id "admin") }}
{{- fail (printf "nats.auth.users.%s.nkey needs nats.auth.users.%s.existingSecret: the Secret holding its seed under nkey.seed, which the %s pods mount" $id $id $user) }}
{{- end }}
{{- if and (not $.Values.nats.enabled) (ne $id "admin") (not $u.existingSecret) }}
{{- fail (printf "nats.auth.users.%s.existingSecret is required with nats.enabled=false and nats.auth.enabled: the chart cannot make users on an external server" $id) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The event versions, as YAML {versions: [{name, subject, durable}]}:
each travels on its own subject and is read through its own durable, v1
on common.subject through consumer.queueGroup, a later one on
<subject>.<version> through <queueGroup>-<version> (platform/events,
Version.Subject and Version.Durable; test/chart checks that they agree).
Permissions and the provision Job cover every version; the consumers read
consumer.versions (all when empty), and KEDA scales on their durables. */}}
{{- define "orders.eventVersions" -}}
{{- $subject := .Values.common.subject }}
{{- $group := .Values.consumer.queueGroup }}
versions:
{{- range $v := list "v1" "v2" }}
  - name: {{ $v }}
    subject: {{ ternary $subject (printf "%s.%s" $subject $v) (eq $v "v1") | quote }}
    durable: {{ ternary $group (printf "%s-%s" $group $v) (eq $v "v1") | quote }}
{{- end }}
{{- end }}

{{/* The versions the consumers read: consumer.versions (each one of
eventVersions: values.schema.json's enum), or every one. */}}
{{- define "orders.consumedVersions" -}}
{{- $all := (include "orders.eventVersions" . | fromYaml).versions }}
{{- $want := .Values.consumer.versions | default (list) }}
versions:
{{- range $all }}
{{- if or (not $want) (has .name $want) }}
  - {{ toYaml . | nindent 4 | trim }}
{{- end }}
{{- end }}
{{- end }}

{{/* The permissions of each NATS user, as YAML {<user>: {publish: [...],
subscribe: [...]}}, from the names in values: the least each needs for its
job (docs/security.md). nats.conf renders it; the chart tests run a real
nats-server on it. Each user's replies come to its own inbox prefix
(_INBOX_<user>, the clients' NATS_INBOX_PREFIX). */}}
{{- define "orders.natsPermissions" -}}
{{- $stream := .Values.stream.name }}
{{- $versions := (include "orders.eventVersions" . | fromYaml).versions }}
{{- $kv := printf "KV_%s" .Values.dedup.bucket }}
{{- $core := eq .Values.common.deliveryMode "core" }}
{{- /* The helm test reads the ledger like the consumer does. */}}
{{- $ledgerRead := list (printf "$JS.API.STREAM.INFO.%s" $kv) (printf "$JS.API.DIRECT.GET.%s.>" $kv) (printf "$JS.API.STREAM.MSG.GET.%s" $kv) }}
{{- $audit := .Values.deadLetters.auditStream }}
{{- $auditRecords := printf "%s.>" .Values.deadLetters.auditSubject }}
{{- /* Per version: its subject; the durable's create (this filter only),
info, pull and acks; what a consumer subscribes to (the durable's
advisories, or on core NATS the subject in its queue group). */}}
{{- $subjects := list }}
{{- $durableCreate := list }}
{{- $durableInfo := list }}
{{- $durableUse := list }}
{{- $durableSubscribe := list }}
{{- range $versions }}
{{- $subjects = append $subjects .subject }}
{{- $durableCreate = append $durableCreate (printf "$JS.API.CONSUMER.CREATE.%s.%s.%s" $stream .durable .subject) }}
{{- $durableInfo = append $durableInfo (printf "$JS.API.CONSUMER.INFO.%s.%s" $stream .durable) }}
{{- $durableUse = concat $durableUse (list (printf "$JS.API.CONSUMER.MSG.NEXT.%s.%s" $stream .durable) (printf "$JS.ACK.%s.%s.>" $stream .durable)) }}
{{- $durableSubscribe = append $durableSubscribe (printf "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s" $stream .durable) }}
{{- if $core }}
{{- $durableSubscribe = append $durableSubscribe (printf "%s %s" .subject .durable) }}
{{- else }}
{{- $durableSubscribe = append $durableSubscribe (printf "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.%s.%s" $stream .durable) }}
{{- end }}
{{- end }}
{{- $firstDurable := (first $versions).durable }}
producer:
  # Publish orders of every version, see the stream exists, hear of its
  # new leaders.
  publish: {{ concat $subjects (list (printf "$JS.API.STREAM.INFO.%s" $stream)) | toJson }}
  subscribe: {{ compact (list "_INBOX_producer.>"
    (ternary "" (printf "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.%s" $stream) $core)) | toJson }}
consumer:
  # Each version's durable (its filter only), pull and ack, read an order
  # by sequence (dead letters), publish dead letters, write the ledger.
  publish: {{ concat (list (printf "$JS.API.STREAM.INFO.%s" $stream)) $durableCreate $durableInfo $durableUse (list
    (printf "$JS.API.STREAM.MSG.GET.%s" $stream)
    (printf "$JS.API.DIRECT.GET.%s" $stream)
    (printf "$JS.API.DIRECT.GET.%s.>" $stream)
    .Values.consumer.deadLetterSubject
    (printf "$KV.%s.>" .Values.dedup.bucket)) $ledgerRead | toJson }}
  # Hear of max deliveries and new leaders of the stream, the durables and
  # the ledger; the audit records, as one queue group.
  subscribe: {{ compact (concat (list "_INBOX_consumer.>"
    (printf "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.%s" $kv)
    (ternary "" (printf "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.%s" $stream) $core))
    $durableSubscribe
    (list (printf "%s %s" $auditRecords $firstDurable))) | toJson }}
provisioner:
  # Create or update the stream, every version's durable, the ledger's
  # stream and the audit stream.
  publish: {{ concat (list "$JS.API.INFO"
    (printf "$JS.API.STREAM.CREATE.%s" $stream)
    (printf "$JS.API.STREAM.UPDATE.%s" $stream)
    (printf "$JS.API.STREAM.INFO.%s" $stream)) $durableCreate $durableInfo (list
    (printf "$JS.API.STREAM.CREATE.%s" $kv)
    (printf "$JS.API.STREAM.UPDATE.%s" $kv)
    (printf "$JS.API.STREAM.INFO.%s" $kv)
    (printf "$JS.API.STREAM.CREATE.%s" $audit)
    (printf "$JS.API.STREAM.UPDATE.%s" $audit)
    (printf "$JS.API.STREAM.INFO.%s" $audit)) | toJson }}
  subscribe: ["_INBOX_provisioner.>"]
dead-letters:
  # The dead-letter tool: read the stream's messages by sequence and
  # subject, publish an order again (on its version's subject), delete a
  # dead letter (or the stalled original), read the ledger, write the
  # audit.
  publish: {{ concat (list
    (printf "$JS.API.STREAM.INFO.%s" $stream)
    (printf "$JS.API.STREAM.MSG.GET.%s" $stream)
    (printf "$JS.API.DIRECT.GET.%s" $stream)
    (printf "$JS.API.DIRECT.GET.%s.>" $stream)
    (printf "$JS.API.STREAM.MSG.DELETE.%s" $stream)) $subjects (list
    (printf "$JS.API.STREAM.INFO.%s" $audit)
    $auditRecords) $ledgerRead | toJson }}
  subscribe: ["_INBOX_dead-letters.>"]
helm-test:
  # The producer's job (and its wake-up on a new stream leader), then read
  # the ledger.
  publish: {{ concat $subjects (list (printf "$JS.API.STREAM.INFO.%s" $stream)) $ledgerRead | toJson }}
  subscribe: {{ compact (list "_INBOX_helm-test.>"
    (ternary "" (printf "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.%s" $stream) $core)) | toJson }}
admin:
  # Operators and audits: everything.
  publish: [">"]
  subscribe: [">"]
{{- end }}

{{/* The NATS identity of a client pod: its environment (user or nkey seed
file, CA, client certificate, inbox prefix, PROVISION); call with (dict
"root" $ "id" "producer"). The files are in the projected volume of
orders.clientVolume, mounted at /etc/nats-client. */}}
{{- define "orders.identityEnv" -}}
{{- $v := .root.Values }}
{{- $user := index (include "orders.identities" .root | fromYaml) .id }}
{{- if $v.nats.auth.enabled }}
{{- if (index $v.nats.auth.users .id).nkey }}
- name: NATS_NKEY_SEED_FILE
  value: /etc/nats-client/nkey.seed
{{- else }}
- name: NATS_USER
  value: {{ $user | quote }}
- name: NATS_PASSWORD_FILE
  value: /etc/nats-client/password
{{- end }}
{{- end }}
{{- if $v.nats.tls.enabled }}
- name: NATS_CA_FILE
  value: /etc/nats-client/ca.crt
{{- if $v.nats.tls.mutual }}
- name: NATS_CERT_FILE
  value: /etc/nats-client/tls.crt
- name: NATS_KEY_FILE
  value: /etc/nats-client/tls.key
{{- end }}
{{- end }}
- name: NATS_INBOX_PREFIX
  value: {{ printf "_INBOX_%s" $user | quote }}
{{- if and (include "orders.provisionJob" .root) (ne .id "provisioner") }}
# The provision Job creates the stream, the durable and the bucket; this
# identity may not, so it waits until they exist.
- name: PROVISION
  value: "false"
{{- end }}
{{- end }}

{{/* The projected volume of a client pod's NATS files (nothing when auth
and TLS are off); call with (dict "root" $ "id" "producer"). */}}
{{- define "orders.clientVolume" -}}
{{- $v := .root.Values }}
{{- if or $v.nats.auth.enabled $v.nats.tls.enabled }}
- name: nats-client
  projected:
    # 0440: readable by the pod's fsGroup (podSecurityContext, or the one
    # the platform assigns), not by every user in the pod.
    defaultMode: 288
    sources:
      {{- if $v.nats.auth.enabled }}
      {{- $key := ternary "nkey.seed" "password" (ne (index $v.nats.auth.users .id).nkey "") }}
      - secret:
          name: {{ include "orders.identitySecret" . }}
          items:
            - {key: {{ $key }}, path: {{ $key }}}
      {{- end }}
      {{- if $v.nats.tls.enabled }}
      - secret:
          name: {{ include "orders.tlsSecret" .root }}
          items:
            - {key: ca.crt, path: ca.crt}
      {{- if $v.nats.tls.mutual }}
      - secret:
          name: {{ printf "%s-nats-%s-tls" (include "orders.fullname" .root) (kebabcase .id) }}
          items:
            - {key: tls.crt, path: tls.crt}
            - {key: tls.key, path: tls.key}
      {{- end }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "orders.clientMount" -}}
{{- if or .Values.nats.auth.enabled .Values.nats.tls.enabled }}
- name: nats-client
  mountPath: /etc/nats-client
  readOnly: true
{{- end }}
{{- end }}

{{/* The environment both services read: NATS connection, delivery, stream,
bucket, HTTP and logging. Every name is one both binaries read; the chart
tests check that against `-h` of the real binaries. Call with (dict "root"
$ "id" <identity>): orders.identityEnv adds the identity's credentials.
NATS_URL is the Service of a single server; on a cluster every server by
its own name, so a client whose server goes away reconnects at once to the
next live member (the servers advertise no addresses of their own:
cluster.no_advertise). With TLS the scheme is tls://, so a client never
falls back to plaintext. */}}
{{- define "orders.commonEnv" -}}
{{- $root := .root }}
{{- with .root -}}
{{- $js := include "orders.jetstreamLimits" . | fromYaml -}}
{{- $scheme := ternary "tls" "nats" .Values.nats.tls.enabled -}}
{{- $natsURL := "" -}}
{{- if and .Values.nats.enabled .Values.nats.cluster.enabled -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.nats.cluster.replicas) -}}
{{- $urls = append $urls (printf "%s://%s-%d.%s:4222" $scheme (include "orders.natsName" $root) $i (include "orders.natsHeadlessName" $root)) -}}
{{- end -}}
{{- $natsURL = join "," $urls -}}
{{- else if .Values.nats.enabled -}}
{{- $natsURL = printf "%s://%s:4222" $scheme (include "orders.natsName" .) -}}
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
- name: NATS_CONNECT_TIMEOUT
  value: {{ .Values.common.natsConnectTimeout | quote }}
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
{{- include "orders.identityEnv" . }}
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
{{- /* The audit stream's share comes out of the headroom. */ -}}
{{- $_ := set $out "audit" (dict "maxBytes" (div (mul $store 2) 100 | toString)) -}}
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

{{/* The server's certificate files, from the TLS Secret's mount. */}}
{{- define "orders.natsTLSFiles" -}}
cert_file: "/etc/nats-tls/tls.crt"
key_file: "/etc/nats-tls/tls.key"
ca_file: "/etc/nats-tls/ca.crt"
timeout: 3
{{- end }}

{{/* A list of strings as a nats.conf array, each quoted. */}}
{{- define "orders.confList" -}}
[{{ range $i, $s := . }}{{ if $i }}, {{ end }}{{ $s | quote }}{{ end }}]
{{- end }}

{{/* The provision Job's pod (provision-job.yaml hashes it into the Job's name). */}}
{{- define "orders.provisionPod" -}}
{{- $c := dict "root" $ "component" "provision" }}
{{- $v := .Values.consumer }}
metadata:
  labels:
    {{- include "orders.selectorLabels" $c | nindent 4 }}
spec:
  restartPolicy: OnFailure
  serviceAccountName: {{ include "orders.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with include "orders.imagePullSecrets" . | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with $v.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    # The consumer image's `provision` subcommand: creates or updates the
    # stream, the durable and the ledger bucket as the provisioner
    # identity, the only one allowed to, then exits.
    - name: provision
      image: {{ include "orders.image" (dict "root" $ "image" $v.image) | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args: ["provision"]
      env:
        {{- include "orders.commonEnv" (dict "root" $ "id" "provisioner") | nindent 8 }}
        # Every version's durable, whatever the consumers read yet: orders
        # of a version no consumer reads wait in its backlog.
        - name: CONSUME_VERSIONS
          value: {{ include "orders.versionNames" (include "orders.eventVersions" .) | quote }}
        {{- include "orders.consumerEnv" . | nindent 8 }}
      {{- with $v.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "orders.clientMount" . | trim }}
      volumeMounts:
        {{- . | nindent 8 }}
      {{- end }}
  {{- with include "orders.clientVolume" (dict "root" $ "id" "provisioner") | trim }}
  volumes:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with include "orders.scheduling" (dict "values" (pick $v "nodeSelector" "tolerations" "affinity") "selector" "") | trim }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* A label selector of this release's NATS clients: producer, consumer,
helm test, provision Job and dead-letter toolbox pods. */}}
{{- define "orders.clientSelector" -}}
matchLabels:
  app.kubernetes.io/name: {{ include "orders.name" . }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [producer, consumer, helm-test, provision, deadletters]
{{- end }}
