{{/*
Names, labels and checks of spark-gc. Its objects carry app.kubernetes.io/name=spark-gc, never
spark-client-app's labels: `sparkhelm gc` finds applications by those, and must not find itself.
*/}}

{{/* The name of every object: fullnameOverride, else <release>-spark-gc (the release name alone when it contains spark-gc). */}}
{{- define "spark-gc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount of the Job's pods: serviceAccount.name, else the fullname when created, else the namespace's default. */}}
{{- define "spark-gc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "spark-gc.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The labels that select the Job's pods. */}}
{{- define "spark-gc.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The labels of every object. */}}
{{- define "spark-gc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "spark-gc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spark
app.kubernetes.io/component: gc
{{- end -}}

{{/* The namespaces to collect in, as a JSON list: namespaces, else the release namespace. */}}
{{- define "spark-gc.namespaces" -}}
{{- toJson (.Values.namespaces | default (list .Release.Namespace) | uniq) -}}
{{- end -}}

{{/*
The image reference: image.repository:image.tag (the tag defaulting to the chart's appVersion).
image.repository has no default because no sparkhelm image is published.
*/}}
{{- define "spark-gc.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is required: no sparkhelm image is published; build one with charts/spark-gc/image/Dockerfile and set image.repository (and image.tag), or set pip.requirement with a Python image (image.repository=python, image.tag=3.11-slim)" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/* Checks of values that are valid alone but not together; each fails with one line naming the keys and the fix. */}}
{{- define "spark-gc.checks" -}}
{{- $name := include "spark-gc.fullname" . -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "the name %q has %d characters; a CronJob's is at most 52 (Kubernetes adds 11 to name its Jobs): set fullnameOverride or use a shorter release name" $name (len $name)) -}}
{{- end -}}
{{- if and .Values.allNamespaces .Values.namespaces -}}
{{- fail "allNamespaces and namespaces are both set: allNamespaces collects in every namespace; keep one of them" -}}
{{- end -}}
{{- if and .Values.rbac.create (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) -}}
{{- fail "rbac.create with serviceAccount.create=false and no serviceAccount.name would grant the namespace's default ServiceAccount, which every other pod uses, the right to delete Secrets: set serviceAccount.name, or serviceAccount.create=true" -}}
{{- end -}}
{{- if and .Values.pip.requirement .Values.networkPolicy.enabled (not .Values.networkPolicy.egress) -}}
{{- fail "pip.requirement with networkPolicy.enabled needs a networkPolicy.egress rule to the package index: the NetworkPolicy lets the Job reach only DNS and the API server; add the rule, or build an image with sparkhelm (charts/spark-gc/image/Dockerfile)" -}}
{{- end -}}
{{- end -}}
