{{/*
Interactive client mode (connect.enabled): the driver runs Spark Connect's server instead of a batch
application, and clients (notebooks, `sparkhelm connect`) reach it on connect.port through the
Service <app>-connect-svc, a port-forward or a Gateway API GRPCRoute. Shared by the driver Pod, the
Service, the route, the NetworkPolicy, the Spark configuration and NOTES.txt.
*/}}

{{/* "true" when the driver runs the Spark Connect server, else empty. */}}
{{- define "spark-client-app.connectEnabled" -}}
{{- if (.Values.connect | default dict).enabled }}true{{ end -}}
{{- end -}}

{{/*
The main class of the server. Since Spark 4.0 it is in the distribution's jars/ (spark-connect_2.13),
so no --packages is needed, and spark-submit's launcher knows it as a class that runs without an
application resource (it passes "spark-internal").
*/}}
{{- define "spark-client-app.connectServerClass" -}}
org.apache.spark.sql.connect.service.SparkConnectServer
{{- end -}}

{{/*
The driver pod's restart policy: driver.restartPolicy for a batch application; connect.restartPolicy
for a server (Always by default: a server never ends on purpose, so any exit is an outage, and the
container restarts in the same pod, which keeps its name, IP and labels: the Services keep selecting it).
*/}}
{{- define "spark-client-app.driverRestartPolicy" -}}
{{- if include "spark-client-app.connectEnabled" . -}}
{{- .Values.connect.restartPolicy | default "Always" -}}
{{- else -}}
{{- .Values.driver.restartPolicy -}}
{{- end -}}
{{- end -}}

{{/*
The NetworkPolicyPeers allowed to reach the server's port, as a YAML list: connect.allowFrom, or
every pod of the release namespace when it is empty; plus the Gateway's peers with a GRPCRoute.
*/}}
{{- define "spark-client-app.connectPeers" -}}
{{- $c := .Values.connect -}}
{{- $peers := $c.allowFrom | default (list (dict "podSelector" dict)) -}}
{{- if ($c.grpcRoute | default dict).enabled }}{{ $peers = concat $peers ($c.grpcRoute.gatewayPeers | default list) }}{{ end -}}
{{- toYaml $peers -}}
{{- end -}}

{{/*
The probes of the server's container as YAML (startupProbe, readinessProbe, livenessProbe; each
unless its `enabled` is false): TCP connections to connect.port. Not `grpc:` probes: Spark Connect
registers no gRPC health service, so one would never pass. The startup probe covers the JVM start,
the SparkContext and the download of app.packages; liveness only begins once it has passed.
*/}}
{{- define "spark-client-app.connectProbes" -}}
{{- $port := .Values.connect.port | int -}}
{{- $probes := .Values.connect.probes | default dict -}}
{{- range $name, $field := dict "startup" "startupProbe" "readiness" "readinessProbe" "liveness" "livenessProbe" -}}
{{- $p := get $probes $name | default dict -}}
{{- if ne (toString $p.enabled) "false" }}
{{ $field }}:
  tcpSocket:
    port: {{ $port }}
  {{- range $key := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" }}
  {{- with get $p $key }}
  {{ $key }}: {{ . | int }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}
{{- end -}}
