{{/* The Deployment of one side (producer or consumer). Both sides share
everything but their values, their replica rule and the consumer's own
variables; call with
  (dict "root" $ "side" "consumer" "replicas" true)
where replicas=false leaves the field to an autoscaler. */}}
{{- define "orders.deployment" -}}
{{- $root := .root }}
{{- $v := index $root.Values .side }}
{{- $c := dict "root" $root "component" .side }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "orders.fullname" $root }}-{{ .side }}
  labels:
    {{- include "orders.componentLabels" $c | nindent 4 }}
    app.kubernetes.io/version: {{ default $root.Chart.AppVersion $v.image.tag | trunc 63 | quote }}
spec:
  {{- /* With an autoscaler the replica count is its business: no replicas
  field, so upgrades do not fight it. */}}
  {{- if .replicas }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "orders.selectorLabels" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "orders.selectorLabels" $c | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "orders.serviceAccountName" $root }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ add $root.Values.common.shutdownGraceSeconds $root.Values.common.terminationGraceMarginSeconds }}
      {{- with include "orders.imagePullSecrets" $root | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with $v.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .side }}
          image: {{ include "orders.image" (dict "root" $root "image" $v.image) | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          env:
            {{- include "orders.commonEnv" (dict "root" $root "id" .side) | nindent 12 }}
            {{- /* The standard OTEL_* variables when tracing is on. The
            sampler is parent-based so that the consumer follows the
            producer's decision for each order. */}}
            {{- with $root.Values.tracing }}
            {{- if .enabled }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ .endpoint | quote }}
            - name: OTEL_SERVICE_NAME
              value: {{ printf "%s-%s" (include "orders.fullname" $root) $.side | quote }}
            - name: OTEL_TRACES_SAMPLER
              value: "parentbased_traceidratio"
            - name: OTEL_TRACES_SAMPLER_ARG
              value: {{ .samplerRatio | toString | quote }}
            {{- end }}
            {{- end }}
            {{- if eq .side "consumer" }}
            - name: CONSUME_VERSIONS
              value: {{ include "orders.versionNames" (include "orders.consumedVersions" $root) | quote }}
            {{- include "orders.consumerEnv" $root | nindent 12 }}
            {{- else }}
            - name: EVENT_VERSION
              value: {{ $root.Values.producer.eventVersion | quote }}
            {{- /* The side's extra variables, sorted by name. */}}
            {{- range $k := keys $v.env | sortAlpha }}
            - name: {{ $k }}
              value: {{ index $v.env $k | toString | quote }}
            {{- end }}
            {{- end }}
          ports:
            - name: http
              containerPort: {{ $root.Values.common.httpPort }}
              protocol: TCP
          {{- with $v.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.readinessProbe }}
          readinessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with include "orders.clientMount" $root | trim }}
          volumeMounts:
            {{- . | nindent 12 }}
          {{- end }}
      {{- with include "orders.clientVolume" (dict "root" $root "id" .side) | trim }}
      volumes:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with include "orders.scheduling" (dict "values" $v "selector" (include "orders.selectorLabels" $c)) | trim }}
      {{- . | nindent 6 }}
      {{- end }}
{{- end }}

{{/* The consumer's own variables and consumer.env, sorted by name: the
consumer Deployment's and the provision Job's (which makes the durable
with the same settings). */}}
{{- define "orders.consumerEnv" -}}
{{- $dedup := (include "orders.jetstreamLimits" . | fromYaml).dedup -}}
- name: QUEUE_GROUP
  value: {{ .Values.consumer.queueGroup | quote }}
- name: DEAD_LETTER_SUBJECT
  value: {{ .Values.consumer.deadLetterSubject | quote }}
- name: DEDUP_TTL
  value: {{ .Values.dedup.ttl | quote }}
- name: DEDUP_MAX_BYTES
  value: {{ $dedup.maxBytes | quote }}
- name: DEDUP_REPLICAS
  value: {{ $dedup.replicas | quote }}
- name: AUDIT_STREAM
  value: {{ .Values.deadLetters.auditStream | quote }}
- name: AUDIT_SUBJECT
  value: {{ .Values.deadLetters.auditSubject | quote }}
- name: AUDIT_MAX_BYTES
  value: {{ (include "orders.jetstreamLimits" . | fromYaml).audit.maxBytes | quote }}
{{- range $k := keys .Values.consumer.env | sortAlpha }}
- name: {{ $k }}
  value: {{ index $.Values.consumer.env $k | toString | quote }}
{{- end }}
{{- end }}

{{/* The names of a versions list (orders.eventVersions'
shape), comma-separated: CONSUME_VERSIONS. */}}
{{- define "orders.versionNames" -}}
{{- $names := list }}
{{- range (fromYaml .).versions }}
{{- $names = append $names .name }}
{{- end }}
{{- join "," $names }}
{{- end }}

{{/* imagePullSecrets of every pod of the release. */}}
{{- define "orders.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ .name | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/* nodeSelector, tolerations, affinity and topologySpreadConstraints of a
pod; call with (dict "values" <the component's values> "selector" <its
selector labels>). A spread constraint without a labelSelector gets the
component's own, so the defaults spread these pods and nothing else. */}}
{{- define "orders.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $tsc := deepCopy . }}
  {{- if not (hasKey $tsc "labelSelector") }}
  {{- $_ := set $tsc "labelSelector" (dict "matchLabels" ($.selector | fromYaml)) }}
  {{- end }}
  - {{ toYaml $tsc | indent 4 | trim }}
  {{- end }}
{{- end }}
{{- end }}
