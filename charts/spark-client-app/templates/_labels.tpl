{{/*
Labels and annotations. Every object carries helm.sh/chart, the app.kubernetes.io/* labels and the
seed's app-name; pods also carry spark-role. The chart's own labels win over commonLabels, so
selectors cannot be broken from values.
*/}}

{{/* The helm.sh/chart label value: <chart name>-<chart version>. */}}
{{- define "spark-client-app.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels of an object, as YAML. Call with (dict "ctx" $ "component" "driver").
*/}}
{{- define "spark-client-app.objectLabels" -}}
{{- $all := dict -}}
{{- include "spark-client-app.fillLabels" (dict "ctx" .ctx "component" .component "into" $all) -}}
{{- include "spark-client-app.quotedMap" $all -}}
{{- end -}}

{{/*
Renders nothing; sets an object's labels into the dict given as "into": what it holds already
wins, then the chart's own labels, then commonLabels, then the dict given as "extra" (a role's
own labels). Call with (dict "ctx" $ "component" "driver" "into" $dict "extra" $labels).
*/}}
{{- define "spark-client-app.fillLabels" -}}
{{- $ctx := .ctx -}}
{{- $own := dict
  "helm.sh/chart" (include "spark-client-app.chartLabel" $ctx)
  "app.kubernetes.io/name" $ctx.Chart.Name
  "app.kubernetes.io/instance" $ctx.Release.Name
  "app.kubernetes.io/version" ($ctx.Chart.AppVersion | toString)
  "app.kubernetes.io/managed-by" $ctx.Release.Service
  "app.kubernetes.io/part-of" "spark"
  "app.kubernetes.io/component" .component
  "app-name" (include "spark-client-app.appName" $ctx)
-}}
{{- $_ := merge .into $own ($ctx.Values.commonLabels | default dict) (.extra | default dict) -}}
{{- end -}}

{{/*
A flat map of strings (labels, annotations) as YAML, keys sorted, keys and values double-quoted.
Printed rather than passed to toYaml, which costs about 45 µs a call and this runs for every object.
*/}}
{{- define "spark-client-app.quotedMap" -}}
{{- $lines := list -}}
{{- range $key, $value := . -}}
{{- $lines = append $lines (printf "%s: %s" (quote $key) (toString $value | quote)) -}}
{{- end -}}
{{- join "\n" $lines -}}
{{- end -}}

{{/* The labels that select the driver pod and nothing else, as YAML. */}}
{{- define "spark-client-app.driverSelectorLabels" -}}
app-name: {{ include "spark-client-app.appName" . }}
spark-role: driver
{{- end -}}

{{/*
Annotations of an object as YAML (empty when none): commonAnnotations plus the given extra dict,
and sparkhelm.io/ttl (the ttl value, read by `sparkhelm gc`). Call with (dict "ctx" $ "extra" $dict).
*/}}
{{- define "spark-client-app.objectAnnotations" -}}
{{- $all := merge (dict) (.extra | default dict) (.ctx.Values.commonAnnotations | default dict) -}}
{{- with .ctx.Values.ttl }}{{ $_ := set $all "sparkhelm.io/ttl" . }}{{ end -}}
{{- if $all }}{{ include "spark-client-app.quotedMap" $all }}{{ end -}}
{{- end -}}
