{{/*
Helpers of the spark-client-app chart. Every name is namespaced `spark-client-app.*`.
Nothing here is random or reads the cluster: the same values always render the same objects.
*/}}

{{/*
The app-name: nameOverride, else the release name. It prefixes every object name, so it is
checked (validateAppName, once per render): a DNS-1035 label of at most 47 characters
(Spark's limit for spark.kubernetes.executor.podNamePrefix). The longest suffix the chart adds is
"-driver-netpol" (14), so no object name can exceed 61 characters and nothing needs truncating.
*/}}
{{- define "spark-client-app.appName" -}}
{{- .Values.nameOverride | default .Release.Name -}}
{{- end -}}

{{/*
Checks of the app-name, made once per render (from configmap.yaml, which is always rendered)
rather than in every one of the dozens of appName includes.
*/}}
{{- define "spark-client-app.validateAppName" -}}
{{- $name := include "spark-client-app.appName" . -}}
{{- if gt (len $name) 47 -}}
{{- fail (printf "app name %q has %d characters, the limit is 47 (Spark's executor pod name prefix): set nameOverride or use a shorter release name" $name (len $name)) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "app name %q is not a DNS-1035 label: use lowercase letters, digits and '-', start with a letter and end with a letter or digit (set nameOverride)" $name) -}}
{{- end -}}
{{- end -}}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "spark-client-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: <app>-<suffix>, at most 61 characters (see appName). */}}
{{- define "spark-client-app.driverPodName" -}}
{{- include "spark-client-app.appName" . }}-driver
{{- end -}}
{{- define "spark-client-app.driverServiceName" -}}
{{- include "spark-client-app.appName" . }}-driver-svc
{{- end -}}
{{- define "spark-client-app.uiServiceName" -}}
{{- include "spark-client-app.appName" . }}-ui-svc
{{- end -}}
{{- define "spark-client-app.ingressName" -}}
{{- include "spark-client-app.appName" . }}-ui-ingress
{{- end -}}
{{- define "spark-client-app.configMapName" -}}
{{- include "spark-client-app.appName" . }}-cm
{{- end -}}
{{- define "spark-client-app.podGroupName" -}}
{{- include "spark-client-app.appName" . }}-podgroup
{{- end -}}

{{/* True (non-empty) when the app runs in a Volcano PodGroup. */}}
{{- define "spark-client-app.podGroupEnabled" -}}
{{- $pg := (.Values.volcano | default dict).podGroup | default dict -}}
{{- if and (eq .Values.scheduler.name "volcano") $pg.enabled }}true{{ end -}}
{{- end -}}

{{/*
The pod annotation that puts a pod in the app's Volcano PodGroup (nothing without one), set into
the dict given as "into". Call with (dict "ctx" $ "into" $dict).
*/}}
{{- define "spark-client-app.podGroupAnnotations" -}}
{{- if include "spark-client-app.podGroupEnabled" .ctx -}}
{{- $_ := set .into "scheduling.k8s.io/group-name" (include "spark-client-app.podGroupName" .ctx) -}}
{{- end -}}
{{- end -}}

{{/* The driver's ServiceAccount: created as <app>-driver, or given, or the namespace default. */}}
{{- define "spark-client-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (printf "%s-driver" (include "spark-client-app.appName" .)) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The executors' ServiceAccount: created as <app>-executor (no Role, no token), or given, or the namespace default. */}}
{{- define "spark-client-app.executorServiceAccountName" -}}
{{- $sa := .Values.executor.serviceAccount -}}
{{- if $sa.create -}}
{{- $sa.name | default (printf "%s-executor" (include "spark-client-app.appName" .)) -}}
{{- else -}}
{{- $sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Where the ConfigMap is mounted in the driver: SPARK_CONF_DIR. */}}
{{- define "spark-client-app.confDir" -}}
/etc/spark/conf
{{- end -}}
{{- define "spark-client-app.hadoopConfDir" -}}
/etc/hadoop/conf
{{- end -}}

{{/* The Spark image, tag defaulting to the chart's appVersion. */}}
{{- define "spark-client-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/*
Labels of an object, as YAML. Call with (dict "ctx" $ "component" "driver").
The chart's own labels win over commonLabels, so selectors cannot be broken from values.
*/}}
{{- define "spark-client-app.labels" -}}
{{- $all := dict -}}
{{- include "spark-client-app.labelMap" (dict "ctx" .ctx "component" .component "into" $all) -}}
{{- include "spark-client-app.printMap" $all -}}
{{- end -}}

{{/*
The labels of an object, set into the dict given as "into": what it holds already wins, then the
chart's own labels, then commonLabels, then the dict given as "extra" (a role's own labels).
Call with (dict "ctx" $ "component" "driver" "into" $dict "extra" $labels).
*/}}
{{- define "spark-client-app.labelMap" -}}
{{- $ctx := .ctx -}}
{{- $own := dict
  "helm.sh/chart" (include "spark-client-app.chart" $ctx)
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
{{- define "spark-client-app.printMap" -}}
{{- $lines := list -}}
{{- range $key, $value := . -}}
{{- $lines = append $lines (printf "%s: %s" (quote $key) (toString $value | quote)) -}}
{{- end -}}
{{- join "\n" $lines -}}
{{- end -}}

{{/* The labels that select the driver pod, and only it. */}}
{{- define "spark-client-app.driverSelectorLabels" -}}
app-name: {{ include "spark-client-app.appName" . }}
spark-role: driver
{{- end -}}

{{/* Annotations of an object: commonAnnotations plus the given extra dict. Call with (dict "ctx" $ "extra" $dict). */}}
{{- define "spark-client-app.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) (.ctx.Values.commonAnnotations | default dict) -}}
{{- if $all }}{{ include "spark-client-app.printMap" $all }}{{ end -}}
{{- end -}}

{{/*
A Spark memory string ("512m", "2g", "1024" = MiB) in MiB, rounded up.
The schema admits only these forms.
*/}}
{{- define "spark-client-app.memoryMi" -}}
{{- $s := lower (toString .) -}}
{{- $digits := regexFind "^[0-9]+" $s -}}
{{- $n := $digits | int64 -}}
{{- $unit := trimSuffix "b" (trimPrefix $digits $s) -}}
{{- if eq $unit "k" -}}{{ div (add $n 1023) 1024 }}
{{- else if eq $unit "g" -}}{{ mul $n 1024 }}
{{- else if eq $unit "t" -}}{{ mul $n 1048576 }}
{{- else if eq $unit "p" -}}{{ mul $n 1073741824 }}
{{- else -}}{{ $n }}
{{- end -}}
{{- end -}}

{{/*
One spark-defaults.conf value (or application argument) as text. Numbers arrive from values as
floats: whole ones print as integers (200, not 2e+02), others as they are (0.5).
*/}}
{{- define "spark-client-app.confValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
Affinity of a pod, as YAML (empty when there is none): the given affinity plus a required node
affinity `<key> In <values>` built from the nodeAffinity shorthand.
Call with (dict "role" "driver" "affinity" $aff "nodeAffinity" $na).
*/}}
{{- define "spark-client-app.affinity" -}}
{{- $aff := deepCopy (.affinity | default dict) -}}
{{- $na := .nodeAffinity | default dict -}}
{{- if $na.values -}}
{{- if hasKey $aff "nodeAffinity" -}}
{{- fail (printf "%s.nodeAffinity.values and %s.affinity.nodeAffinity are both set: keep one of them" .role .role) -}}
{{- end -}}
{{- $expr := dict "key" ($na.key | default "type") "operator" "In" "values" $na.values -}}
{{- $terms := list (dict "matchExpressions" (list $expr)) -}}
{{- $_ := set $aff "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" $terms)) -}}
{{- end -}}
{{- if $aff }}{{ toYaml $aff }}{{ end -}}
{{- end -}}

{{/* Ingress path of the UI in path mode, also spark.ui.proxyBase. */}}
{{- define "spark-client-app.uiPath" -}}
{{- .Values.ui.ingress.path | default (printf "/%s" (include "spark-client-app.appName" .)) -}}
{{- end -}}

{{/* Host of the UI Ingress: <app>.<domain> in host mode, ui.ingress.host (maybe empty) in path mode. */}}
{{- define "spark-client-app.uiHost" -}}
{{- $ing := .Values.ui.ingress -}}
{{- if eq $ing.mode "host" -}}
{{- $domain := $ing.domain | default $ing.host -}}
{{- if not $domain -}}
{{- fail "ui.ingress.domain is required when ui.ingress.mode is host: the UI is served at <app>.<domain>" -}}
{{- end -}}
{{- printf "%s.%s" (include "spark-client-app.appName" .) $domain -}}
{{- else -}}
{{- $ing.host -}}
{{- end -}}
{{- end -}}

{{/*
ui.ingress.tls in any of its accepted forms (true, {enabled, secretName}, or a list of Ingress TLS
entries) as a YAML list of Ingress TLS entries; empty when TLS is off.
*/}}
{{- define "spark-client-app.uiTls" -}}
{{- $tls := .Values.ui.ingress.tls -}}
{{- $host := include "spark-client-app.uiHost" . -}}
{{- $default := printf "%s-ui-tls" (include "spark-client-app.appName" .) -}}
{{- if kindIs "bool" $tls }}{{ $tls = dict "enabled" $tls }}{{ end -}}
{{- if kindIs "map" $tls -}}
{{- $tls = ternary (list (dict "secretName" ($tls.secretName | default $default))) list $tls.enabled -}}
{{- end -}}
{{- $entries := list -}}
{{- range $tls -}}
{{- $entry := deepCopy . -}}
{{- if and (not $entry.hosts) $host }}{{ $_ := set $entry "hosts" (list $host) }}{{ end -}}
{{- $entries = append $entries $entry -}}
{{- end -}}
{{- if $entries }}{{ toYaml $entries }}{{ end -}}
{{- end -}}

{{/* Scheme of the UI's public URL: https when the Ingress has TLS. */}}
{{- define "spark-client-app.uiScheme" -}}
{{- ternary "https" "http" (ne (include "spark-client-app.uiTls" .) "") -}}
{{- end -}}

{{/* Names of the image pull Secrets: image.pullSecrets may hold names or {name: ...} objects. */}}
{{- define "spark-client-app.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.image.pullSecrets -}}
{{- if kindIs "map" . }}{{ $names = append $names .name }}{{ else }}{{ $names = append $names . }}{{ end -}}
{{- end -}}
{{- if $names }}{{ toYaml $names }}{{ end -}}
{{- end -}}

{{/* A dependency list: app.<kind> plus app.dependencies.<kind>, as a comma-separated string. */}}
{{- define "spark-client-app.dependency" -}}
{{- $app := .ctx.Values.app -}}
{{- $deps := $app.dependencies | default dict -}}
{{- join "," (concat (get $app .kind | default list) (get $deps .kind | default list)) -}}
{{- end -}}

{{/* True (non-empty) when the UI is served under a path prefix through the Ingress. */}}
{{- define "spark-client-app.uiPathMode" -}}
{{- if and .Values.ui.ingress.enabled (eq .Values.ui.ingress.mode "path") }}true{{ end -}}
{{- end -}}

{{/* Strip the local:// scheme: in client mode the driver reads local files directly. */}}
{{- define "spark-client-app.localPath" -}}
{{- if hasPrefix "local://" . }}{{ trimPrefix "local://" . }}{{ else }}{{ . }}{{ end -}}
{{- end -}}

{{/*
Every spark-defaults.conf entry: the user's sparkConf plus the wiring, set into the dict given as
"conf". Call with (dict "ctx" $ "conf" $dict); filling a dict spares a toYaml/fromYaml round trip.
A sparkConf key that the wiring owns is an error naming what to set instead
(files/wiring-keys.yaml is shared with the sparkhelm CLI).
*/}}
{{- define "spark-client-app.sparkConf" -}}
{{- $conf := .conf -}}
{{- with .ctx -}}
{{- $v := .Values -}}
{{- $app := include "spark-client-app.appName" . -}}
{{- $wiringText := printf "\n%s" (.Files.Get "files/wiring-keys.yaml") -}}
{{- $_ := merge $conf (.Files.Get "files/secure-defaults.yaml" | fromYaml) -}}
{{- range $key, $val := $v.sparkConf -}}
{{- /* A line search first: parsing wiring-keys.yaml costs more than the rest of this helper. */ -}}
{{- if contains (printf "\n%s:" $key) $wiringText -}}
{{- $wiring := $wiringText | fromYaml -}}
{{- fail (printf "sparkConf.%s is set by the chart (client-mode wiring): remove it and set %s instead" $key (get $wiring $key)) -}}
{{- end -}}
{{- $_ := set $conf $key (include "spark-client-app.confValue" $val) -}}
{{- end -}}
{{- $_ := set $conf "spark.master" "k8s://https://kubernetes.default.svc:443" -}}
{{- $_ := set $conf "spark.submit.deployMode" "client" -}}
{{- $_ := set $conf "spark.app.name" ($v.app.name | default $app) -}}
{{- $_ := set $conf "spark.kubernetes.namespace" .Release.Namespace -}}
{{- $_ := set $conf "spark.kubernetes.driver.pod.name" (include "spark-client-app.driverPodName" .) -}}
{{- $_ := set $conf "spark.kubernetes.executor.podNamePrefix" $app -}}
{{- $_ := set $conf "spark.kubernetes.executor.podTemplateFile" (printf "%s/executor-pod-template.yaml" (include "spark-client-app.confDir" .)) -}}
{{- $_ := set $conf "spark.kubernetes.executor.podTemplateContainerName" "executor" -}}
{{- $_ := set $conf "spark.kubernetes.container.image" (include "spark-client-app.image" .) -}}
{{- $_ := set $conf "spark.kubernetes.container.image.pullPolicy" $v.image.pullPolicy -}}
{{- with include "spark-client-app.pullSecretNames" . | fromYamlArray }}{{ $_ := set $conf "spark.kubernetes.container.image.pullSecrets" (join "," .) }}{{ end -}}
{{- $_ := set $conf "spark.driver.host" (printf "%s.%s.svc" (include "spark-client-app.driverServiceName" .) .Release.Namespace) -}}
{{- $_ := set $conf "spark.driver.port" ($v.driver.port | int | toString) -}}
{{- $_ := set $conf "spark.driver.blockManager.port" ($v.driver.blockManagerPort | int | toString) -}}
{{- $_ := set $conf "spark.blockManager.port" ($v.executor.blockManagerPort | int | toString) -}}
{{- $_ := set $conf "spark.kubernetes.authenticate.executor.serviceAccountName" (include "spark-client-app.executorServiceAccountName" .) -}}
{{- $_ := set $conf "spark.driver.memory" $v.driver.memory -}}
{{- $_ := set $conf "spark.driver.cores" ($v.driver.cores | int | toString) -}}
{{- $_ := set $conf "spark.executor.instances" ($v.executor.instances | int | toString) -}}
{{- $_ := set $conf "spark.executor.cores" ($v.executor.cores | int | toString) -}}
{{- $_ := set $conf "spark.executor.memory" $v.executor.memory -}}
{{- with $v.executor.memoryOverhead }}{{ $_ := set $conf "spark.executor.memoryOverhead" . }}{{ end -}}
{{- with $v.executor.requestCores }}{{ $_ := set $conf "spark.kubernetes.executor.request.cores" (toString .) }}{{ end -}}
{{- with $v.executor.limitCores }}{{ $_ := set $conf "spark.kubernetes.executor.limit.cores" (toString .) }}{{ end -}}
{{- if $v.dynamicAllocation.enabled -}}
{{- $_ := set $conf "spark.dynamicAllocation.enabled" "true" -}}
{{- $_ := set $conf "spark.dynamicAllocation.shuffleTracking.enabled" "true" -}}
{{- $_ := set $conf "spark.dynamicAllocation.minExecutors" ($v.dynamicAllocation.minExecutors | int | toString) -}}
{{- $_ := set $conf "spark.dynamicAllocation.maxExecutors" ($v.dynamicAllocation.maxExecutors | int | toString) -}}
{{- $_ := set $conf "spark.dynamicAllocation.initialExecutors" ($v.executor.instances | int | toString) -}}
{{- end -}}
{{- $_ := set $conf "spark.ui.port" ($v.ui.port | int | toString) -}}
{{- $_ := set $conf "spark.ui.killEnabled" (ternary "true" "false" $v.ui.killEnabled) -}}
{{- if include "spark-client-app.uiPathMode" . -}}
{{- $_ := set $conf "spark.ui.proxyBase" (include "spark-client-app.uiPath" .) -}}
{{- $redirect := $v.ui.ingress.proxyRedirectUri -}}
{{- if not $redirect -}}
{{- $host := include "spark-client-app.uiHost" . -}}
{{- $redirect = ternary (printf "%s://%s" (include "spark-client-app.uiScheme" .) $host) "/" (ne $host "") -}}
{{- end -}}
{{- $_ := set $conf "spark.ui.proxyRedirectUri" $redirect -}}
{{- end -}}
{{- range $kind, $key := dict "jars" "spark.jars" "files" "spark.files" "pyFiles" "spark.submit.pyFiles" "packages" "spark.jars.packages" "repositories" "spark.jars.repositories" "archives" "spark.archives" -}}
{{- with include "spark-client-app.dependency" (dict "ctx" $.ctx "kind" $kind) }}{{ $_ := set $conf $key . }}{{ end -}}
{{- end -}}
{{- if and (hasKey $conf "spark.jars.packages") (not (hasKey $conf "spark.jars.ivy")) -}}
{{- $_ := set $conf "spark.jars.ivy" "/tmp/.ivy2" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* spark-defaults.conf text: one "key value" line per entry, sorted by key. */}}
{{- define "spark-client-app.sparkDefaults" -}}
# Generated by the spark-client-app chart from values; do not edit.
{{- $conf := dict }}
{{- include "spark-client-app.sparkConf" (dict "ctx" . "conf" $conf) }}
{{- range $key := keys $conf | sortAlpha }}
{{ printf "%-48s %s" $key (get $conf $key) }}
{{- end }}
{{- end -}}

{{/* Environment shared by the driver and the executor containers. */}}
{{- define "spark-client-app.hadoopEnv" -}}
{{- if .Values.hadoop.configMap -}}
- name: HADOOP_CONF_DIR
  value: {{ include "spark-client-app.hadoopConfDir" . }}
{{- end -}}
{{- end -}}

{{/*
The executor pod template (spark.kubernetes.executor.podTemplateFile), as YAML.
Spark fills in the container's image, command, resources and ownerReference; the template carries
what only Kubernetes knows: labels, scheduling, security and volumes.
*/}}
{{- define "spark-client-app.executorPodTemplate" -}}
{{- $v := .Values -}}
{{- $labels := dict "spark-role" "executor" -}}
{{- include "spark-client-app.labelMap" (dict "ctx" . "component" "executor" "into" $labels "extra" $v.executor.labels) -}}
{{- $_ := unset $labels "helm.sh/chart" -}}
{{- $_ := unset $labels "app.kubernetes.io/managed-by" -}}
{{- $extra := dict -}}
{{- include "spark-client-app.podGroupAnnotations" (dict "ctx" . "into" $extra) -}}
{{- $_ := merge $extra ($v.executor.annotations | default dict) -}}
{{- $env := list (include "spark-client-app.hadoopEnv" .) (include "spark-client-app.secretEnv" .) -}}
{{- with $v.executor.env }}{{ $env = append $env (toYaml .) }}{{ end -}}
{{- $mounts := list (include "spark-client-app.scratch" (dict "ctx" . "part" "mounts")) (include "spark-client-app.secretFiles" (dict "ctx" . "part" "mounts")) -}}
{{- with $v.executor.volumeMounts }}{{ $mounts = append $mounts (toYaml .) }}{{ end -}}
{{- $volumes := list (include "spark-client-app.scratch" (dict "ctx" . "part" "volumes")) (include "spark-client-app.secretFiles" (dict "ctx" . "part" "volumes")) -}}
{{- with $v.executor.volumes }}{{ $volumes = append $volumes (toYaml .) }}{{ end -}}
{{- with $v.hadoop.configMap -}}
{{- $mounts = append $mounts (printf "- name: hadoop-conf\n  mountPath: %s\n  readOnly: true" (include "spark-client-app.hadoopConfDir" $)) -}}
{{- $volumes = append $volumes (printf "- name: hadoop-conf\n  configMap:\n    name: %s" .) -}}
{{- end -}}
apiVersion: v1
kind: Pod
metadata:
  labels:
    {{- include "spark-client-app.printMap" $labels | nindent 4 }}
  {{- with include "spark-client-app.annotations" (dict "ctx" . "extra" $extra) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  restartPolicy: Never
  enableServiceLinks: false
  serviceAccountName: {{ include "spark-client-app.executorServiceAccountName" . }}
  automountServiceAccountToken: false
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.scheduler.name }}
  schedulerName: {{ . }}
  {{- end }}
  {{- with $v.executor.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "spark-client-app.affinity" (dict "role" "executor" "affinity" $v.executor.affinity "nodeAffinity" $v.executor.nodeAffinity) }}
  affinity:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with $v.executor.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.executor.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "spark-client-app.pullSecretNames" . | fromYamlArray }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  containers:
    - name: executor
      {{- with $v.executor.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with compact $env }}
      env:
        {{- join "\n" . | nindent 8 }}
      {{- end }}
      {{- with compact $mounts }}
      volumeMounts:
        {{- join "\n" . | nindent 8 }}
      {{- end }}
  {{- with compact $volumes }}
  volumes:
    {{- join "\n" . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
Writable scratch directories (the root filesystem is read-only): emptyDir volumes and their
mounts, as YAML lists. Call with (dict "ctx" $ "part" "volumes"|"mounts").
*/}}
{{- define "spark-client-app.scratch" -}}
{{- $s := .ctx.Values.scratch -}}
{{- $out := list -}}
{{- range $i, $path := $s.mountPaths -}}
{{- $name := printf "scratch-%d" $i -}}
{{- if eq $.part "mounts" -}}
{{- $out = append $out (dict "name" $name "mountPath" $path) -}}
{{- else -}}
{{- $dir := dict -}}
{{- with $s.sizeLimit }}{{ $_ := set $dir "sizeLimit" (toString .) }}{{ end -}}
{{- with $s.medium }}{{ $_ := set $dir "medium" . }}{{ end -}}
{{- $out = append $out (dict "name" $name "emptyDir" $dir) -}}
{{- end -}}
{{- end -}}
{{- if $out }}{{ toYaml $out }}{{ end -}}
{{- end -}}

{{/* Environment variables from existing Secrets (secrets.env), as a Kubernetes EnvVar list. */}}
{{- define "spark-client-app.secretEnv" -}}
{{- $out := list -}}
{{- range .Values.secrets.env -}}
{{- $ref := dict "name" .secretName "key" .key -}}
{{- if hasKey . "optional" }}{{ $_ := set $ref "optional" .optional }}{{ end -}}
{{- $out = append $out (dict "name" .name "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- if $out }}{{ toYaml $out }}{{ end -}}
{{- end -}}

{{/* Secret files (secrets.files): volumes and read-only mounts. Call with (dict "ctx" $ "part" "volumes"|"mounts"). */}}
{{- define "spark-client-app.secretFiles" -}}
{{- $out := list -}}
{{- range $i, $f := .ctx.Values.secrets.files -}}
{{- $name := printf "secret-%d" $i -}}
{{- if eq $.part "mounts" -}}
{{- $out = append $out (dict "name" $name "mountPath" $f.mountPath "readOnly" true) -}}
{{- else -}}
{{- $secret := dict "secretName" $f.secretName "defaultMode" 292 -}}
{{- with $f.items }}{{ $_ := set $secret "items" . }}{{ end -}}
{{- if hasKey $f "optional" }}{{ $_ := set $secret "optional" $f.optional }}{{ end -}}
{{- $out = append $out (dict "name" $name "secret" $secret) -}}
{{- end -}}
{{- end -}}
{{- if $out }}{{ toYaml $out }}{{ end -}}
{{- end -}}

{{/*
Refuse credentials where they would be stored in clear: in the ConfigMap (sparkConf, sparkEnv), in
literal environment variables, in application arguments, and therefore in the Helm release record
too. What a credential looks like is in files/credentials.yaml (shared with the sparkhelm CLI).
Renders nothing; fails with a message that points to `secrets`.
*/}}
{{- define "spark-client-app.refuseCredentials" -}}
{{- $c := .Files.Get "files/credentials.yaml" | fromYaml -}}
{{- $fix := "put it in a Kubernetes Secret and use secrets.env (an environment variable; Hadoop keys can then say ${env.NAME}) or secrets.files" -}}
{{- $checks := list -}}
{{- range $key, $val := .Values.sparkConf -}}
{{- $checks = append $checks (dict "where" (printf "sparkConf.%s" $key) "name" $key "value" (toString $val)) -}}
{{- end -}}
{{- range $i, $line := splitList "\n" (.Values.sparkEnv | default "") -}}
{{- if regexMatch "^\\s*(export\\s+)?[A-Za-z_][A-Za-z0-9_]*=" $line -}}
{{- $name := regexReplaceAll "^\\s*(export\\s+)?([A-Za-z_][A-Za-z0-9_]*)=.*$" $line "${2}" -}}
{{- $value := regexReplaceAll "^[^=]*=" $line "" | trim | trimAll "\"'" -}}
{{- $checks = append $checks (dict "where" (printf "sparkEnv line %d (%s)" (add1 $i) $name) "name" $name "value" $value) -}}
{{- else -}}
{{- $checks = append $checks (dict "where" (printf "sparkEnv line %d" (add1 $i)) "name" "" "value" $line) -}}
{{- end -}}
{{- end -}}
{{- range $role := list "driver" "executor" -}}
{{- range $i, $e := (get $.Values $role).env -}}
{{- if hasKey $e "value" -}}
{{- $checks = append $checks (dict "where" (printf "%s.env[%d] (%s)" $role $i $e.name) "name" (toString $e.name) "value" (toString $e.value)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $i, $arg := .Values.app.arguments -}}
{{- $checks = append $checks (dict "where" (printf "app.arguments[%d]" $i) "name" "" "value" (toString $arg)) -}}
{{- end -}}
{{- /* sprig compiles a regex on every call: `and` stops at the first false, and the value patterns
  run only when the cheap valueHint matches, so a clean value costs two small compiles. */ -}}
{{- range $checks -}}
{{- $words := regexReplaceAll "([a-z0-9])([A-Z])" .name "${1}.${2}" | lower -}}
{{- if and (regexMatch $c.key $words) (not (regexMatch $c.allowedKey $words)) (not (regexMatch $c.allowedValue .value)) -}}
{{- fail (printf "%s looks like a credential, which would be stored in clear in a ConfigMap or pod spec and in the Helm release: %s" .where $fix) -}}
{{- end -}}
{{- if regexMatch $c.valueHint .value -}}
{{- $value := .value -}}
{{- $where := .where -}}
{{- range $what, $pattern := $c.values -}}
{{- if regexMatch $pattern $value -}}
{{- fail (printf "%s holds what looks like %s, which would be stored in clear in a ConfigMap or pod spec and in the Helm release: %s" $where $what $fix) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Refuse snippet annotations on the Ingress (ingress-nginx *-snippet: CVE-2021-25742). */}}
{{- define "spark-client-app.refuseSnippets" -}}
{{- range $source, $ann := dict "ui.ingress.annotations" .Values.ui.ingress.annotations "commonAnnotations" .Values.commonAnnotations -}}
{{- range $key, $_ := $ann -}}
{{- if hasSuffix "-snippet" $key -}}
{{- fail (printf "%s.%s is refused: snippet annotations inject ingress controller configuration (CVE-2021-25742); use ui.ingress.auth, or ask the cluster admin" $source $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
