{{/* Release-scoped name of a component: <release>-<component>, e.g. sb-presence. */}}
{{- define "switchboard.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/component: {{ .component | default .name }}
app.kubernetes.io/part-of: switchboard
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* <registry>/switchboard-<name>:<tag>, unless the component names its own image. */}}
{{- define "switchboard.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $image := .image | default dict -}}
{{- $repository := $image.repository | default (printf "%s/switchboard-%s" $g.registry .name) -}}
{{- $tag := $image.tag | default $g.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{- define "switchboard.authSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" .Release.Name) -}}
{{- end -}}

{{/* The auth Secret's files for one service: the public keys, and its own token if it calls other services. */}}
{{- define "switchboard.authVolume" -}}
- name: auth
  secret:
    secretName: {{ include "switchboard.authSecretName" .root }}
    items:
      - key: public-keys.json
        path: public-keys.json
      {{- if .serviceToken }}
      - key: {{ printf "%s.token" .name }}
        path: service-token
      {{- end }}
{{- end -}}

{{- define "switchboard.authMount" -}}
- name: auth
  mountPath: /etc/switchboard/auth
  readOnly: true
{{- end -}}

{{- define "switchboard.ariSecretName" -}}
{{- .Values.asterisk.ari.existingSecret | default (printf "%s-ari" .Release.Name) -}}
{{- end -}}

{{- define "switchboard.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats:4222" .Release.Name -}}
{{- else -}}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/* Environment every service shares: identity, telemetry, NATS, JWT verification (public keys only). */}}
{{- define "switchboard.commonEnv" -}}
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
- name: SERVICE_VERSION
  value: {{ .root.Chart.AppVersion | quote }}
- name: LOG_LEVEL
  value: {{ .root.Values.global.logLevel | quote }}
{{- with .root.Values.global.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .root.Values.global.tracesSampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .root.Values.global.tracesSamplerRatio | quote }}
- name: HTTP_PORT
  value: {{ .httpPort | quote }}
- name: GRPC_PORT
  value: {{ .grpcPort | quote }}
# Leaves the kit 5 s of the grace period to close connections after draining.
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ mul (sub (int .grace) 5) 1000 | quote }}
- name: NATS_URL
  value: {{ include "switchboard.natsUrl" .root | quote }}
# This service's own NATS key (its public half is natsAuth.users.<name>); no pod gets another's.
- name: NATS_NKEY_SEED
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-nats-%s" .root.Release.Name .name }}
      key: seed
# Files, not variables: a renewed Secret reaches the mounted files and the kit re-reads them.
- name: AUTH_PUBLIC_KEYS_FILE
  value: /etc/switchboard/auth/public-keys.json
{{- if .serviceToken }}
- name: AUTH_SERVICE_TOKEN_FILE
  value: /etc/switchboard/auth/service-token
{{- end }}
- name: AUTH_JWT_ISSUER
  value: {{ .root.Values.auth.issuer | quote }}
- name: AUTH_JWT_AUDIENCE
  value: {{ .root.Values.auth.audience | quote }}
{{- end -}}

{{/* MONGO_URL and MONGO_DB from the in-cluster MongoDB's secret or the external one. */}}
{{- define "switchboard.mongoEnv" -}}
{{- $v := .Values -}}
- name: MONGO_DB
  value: {{ $v.externalMongodb.database | quote }}
{{- if $v.mongodb.enabled }}
- name: MONGODB_ROOT_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-mongodb" .Release.Name }}
      key: mongodb-root-password
- name: MONGO_URL
  value: {{ printf "mongodb://root:$(MONGODB_ROOT_PASSWORD)@%s-mongodb:27017/?authSource=admin" .Release.Name | quote }}
{{- else if $v.externalMongodb.existingSecret }}
- name: MONGO_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalMongodb.existingSecret }}
      key: {{ $v.externalMongodb.existingSecretKey }}
{{- else }}
- name: MONGO_URL
  value: {{ required "externalMongodb.url or externalMongodb.existingSecret is required when mongodb.enabled is false" $v.externalMongodb.url | quote }}
{{- end }}
{{- end -}}

{{- define "switchboard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "switchboard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/*
Startup waits for the gRPC health service to say SERVING (set once the server listens);
liveness is the HTTP /healthz (up while the process runs, draining included, so a pod that drains
calls is never killed for it); readiness is /readyz (NATS/Mongo reachable, not draining).
*/}}
{{- define "switchboard.probes" -}}
startupProbe:
  grpc:
    port: {{ .grpcPort }}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  failureThreshold: 2
{{- end -}}

{{- define "switchboard.envFrom" -}}
{{- if .env }}
- configMapRef:
    name: {{ include "switchboard.fullname" . }}
{{- end }}
{{- range .configMapRefs }}
- configMapRef:
    name: {{ . }}
{{- end }}
{{- range .secretRefs }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}
