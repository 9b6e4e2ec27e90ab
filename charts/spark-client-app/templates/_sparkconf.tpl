{{/*
The Spark configuration: spark-defaults.conf, from the user's sparkConf plus the client-mode
wiring the chart owns (files/wiring-keys.yaml lists the wiring keys; _preflight.tpl refuses them
in sparkConf).
*/}}

{{/* spark.master: the in-cluster API server (client mode; the driver runs in a pod of the cluster). */}}
{{- define "spark-client-app.sparkMaster" -}}
k8s://https://kubernetes.default.svc:443
{{- end -}}

{{/* The directory where the ConfigMap is mounted in the driver: SPARK_CONF_DIR. */}}
{{- define "spark-client-app.sparkConfDir" -}}
/etc/spark/conf
{{- end -}}

{{/*
"true" when dynamic allocation is on (dynamicAllocation.enabled, or connect mode unless
connect.dynamicAllocation.enabled is false), else empty.
*/}}
{{- define "spark-client-app.dynamicAllocationEnabled" -}}
{{- $c := .Values.connect | default dict -}}
{{- if or .Values.dynamicAllocation.enabled (and $c.enabled (ne (toString ($c.dynamicAllocation | default dict).enabled) "false")) }}true{{ end -}}
{{- end -}}

{{/*
The executors a starting application asks for (spark.executor.instances, and initialExecutors with
dynamic allocation): executor.instances; for a Connect server with dynamic allocation
dynamicAllocation.minExecutors, so that a server nobody uses is one pod.
*/}}
{{- define "spark-client-app.initialExecutors" -}}
{{- if and (include "spark-client-app.connectEnabled" .) (include "spark-client-app.dynamicAllocationEnabled" .) -}}
{{- .Values.dynamicAllocation.minExecutors | int -}}
{{- else -}}
{{- .Values.executor.instances | int -}}
{{- end -}}
{{- end -}}

{{/*
One spark-defaults.conf value (or application argument) as text. Numbers arrive from values as
floats: whole ones print as integers (200, not 2e+02), others as they are (0.5).
*/}}
{{- define "spark-client-app.confText" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* A dependency list, app.<kind> plus app.dependencies.<kind>, as one comma-separated string. Call with (dict "ctx" $ "kind" "jars"). */}}
{{- define "spark-client-app.dependencyList" -}}
{{- $app := .ctx.Values.app -}}
{{- $deps := $app.dependencies | default dict -}}
{{- join "," (concat (get $app .kind | default list) (get $deps .kind | default list)) -}}
{{- end -}}

{{/*
Renders nothing; sets every spark-defaults.conf entry (the secure defaults, the user's sparkConf,
then the wiring) into the dict given as "conf". Call with (dict "ctx" $ "conf" $dict); filling a
dict spares a toYaml/fromYaml round trip.
*/}}
{{- define "spark-client-app.fillSparkConf" -}}
{{- $conf := .conf -}}
{{- with .ctx -}}
{{- $v := .Values -}}
{{- $app := include "spark-client-app.appName" . -}}
{{- $_ := merge $conf (.Files.Get "files/secure-defaults.yaml" | fromYaml) -}}
{{- range $key, $val := $v.sparkConf -}}
{{- $_ := set $conf $key (include "spark-client-app.confText" $val) -}}
{{- end -}}
{{- $_ := set $conf "spark.master" (include "spark-client-app.sparkMaster" .) -}}
{{- $_ := set $conf "spark.submit.deployMode" "client" -}}
{{- $_ := set $conf "spark.app.name" ($v.app.name | default $app) -}}
{{- $_ := set $conf "spark.kubernetes.namespace" .Release.Namespace -}}
{{- /* A scheduled run's pod name and IP are its own: given on its command line (_schedule.tpl), not here. */ -}}
{{- $scheduled := include "spark-client-app.scheduled" . -}}
{{- if not $scheduled -}}
{{- $_ := set $conf "spark.kubernetes.driver.pod.name" (include "spark-client-app.driverPodName" .) -}}
{{- $_ := set $conf "spark.kubernetes.executor.podNamePrefix" $app -}}
{{- end -}}
{{- $_ := set $conf "spark.kubernetes.executor.podTemplateFile" (printf "%s/executor-pod-template.yaml" (include "spark-client-app.sparkConfDir" .)) -}}
{{- $_ := set $conf "spark.kubernetes.executor.podTemplateContainerName" "executor" -}}
{{- $_ := set $conf "spark.kubernetes.container.image" (include "spark-client-app.imageRef" .) -}}
{{- $_ := set $conf "spark.kubernetes.container.image.pullPolicy" $v.image.pullPolicy -}}
{{- with include "spark-client-app.pullSecretNames" . | fromYamlArray }}{{ $_ := set $conf "spark.kubernetes.container.image.pullSecrets" (join "," .) }}{{ end -}}
{{- if not $scheduled }}{{ $_ := set $conf "spark.driver.host" (printf "%s.%s.svc" (include "spark-client-app.driverServiceName" .) .Release.Namespace) }}{{ end -}}
{{- /* Executors dial spark.driver.host, the headless Service, not the driver's pod IP (Spark 4's default):
  the same path on Spark 3 and 4 images, and the Service's selector and ports are what the wiring
  tests prove (tests/test_spark_breakage.py shows a broken Service unnoticed under the default). */ -}}
{{- $_ := set $conf "spark.kubernetes.executor.useDriverPodIP" "false" -}}
{{- $_ := set $conf "spark.driver.port" ($v.driver.port | int | toString) -}}
{{- $_ := set $conf "spark.driver.blockManager.port" ($v.driver.blockManagerPort | int | toString) -}}
{{- $_ := set $conf "spark.blockManager.port" ($v.executor.blockManagerPort | int | toString) -}}
{{- $_ := set $conf "spark.kubernetes.authenticate.executor.serviceAccountName" (include "spark-client-app.executorServiceAccountName" .) -}}
{{- /* Spark's own connections (security.rpc, _secrets.tpl): authenticated with the mounted secret
  file, encrypted with AES; local disk I/O encryption on request. */ -}}
{{- $auth := include "spark-client-app.rpcAuthEnabled" . -}}
{{- $_ := set $conf "spark.authenticate" (ternary "true" "false" (eq $auth "true")) -}}
{{- if $auth }}{{ $_ := set $conf "spark.authenticate.secret.file" (include "spark-client-app.rpcSecretFile" .) }}{{ end -}}
{{- $_ := set $conf "spark.network.crypto.enabled" (ternary "true" "false" (and (eq $auth "true") (eq (toString $v.security.rpc.encryption) "true"))) -}}
{{- $_ := set $conf "spark.io.encryption.enabled" (ternary "true" "false" (eq (toString $v.security.ioEncryption.enabled) "true")) -}}
{{- $_ := set $conf "spark.driver.memory" $v.driver.memory -}}
{{- $_ := set $conf "spark.driver.cores" ($v.driver.cores | int | toString) -}}
{{- $connect := include "spark-client-app.connectEnabled" . -}}
{{- $dynamic := include "spark-client-app.dynamicAllocationEnabled" . -}}
{{- $_ := set $conf "spark.executor.instances" (include "spark-client-app.initialExecutors" .) -}}
{{- $_ := set $conf "spark.executor.cores" ($v.executor.cores | int | toString) -}}
{{- $_ := set $conf "spark.executor.memory" $v.executor.memory -}}
{{- with $v.executor.memoryOverhead }}{{ $_ := set $conf "spark.executor.memoryOverhead" . }}{{ end -}}
{{- with $v.executor.requestCores }}{{ $_ := set $conf "spark.kubernetes.executor.request.cores" (toString .) }}{{ end -}}
{{- with $v.executor.limitCores }}{{ $_ := set $conf "spark.kubernetes.executor.limit.cores" (toString .) }}{{ end -}}
{{- if $dynamic -}}
{{- $_ := set $conf "spark.dynamicAllocation.enabled" "true" -}}
{{- $_ := set $conf "spark.dynamicAllocation.shuffleTracking.enabled" "true" -}}
{{- $_ := set $conf "spark.dynamicAllocation.minExecutors" ($v.dynamicAllocation.minExecutors | int | toString) -}}
{{- $_ := set $conf "spark.dynamicAllocation.maxExecutors" ($v.dynamicAllocation.maxExecutors | int | toString) -}}
{{- $_ := set $conf "spark.dynamicAllocation.initialExecutors" (include "spark-client-app.initialExecutors" .) -}}
{{- end -}}
{{- if $connect -}}
{{- $_ := set $conf "spark.connect.grpc.binding.port" ($v.connect.port | int | toString) -}}
{{- $_ := set $conf "spark.connect.grpc.port.maxRetries" "0" -}}
{{- if $dynamic }}{{ $_ := set $conf "spark.dynamicAllocation.executorIdleTimeout" (toString $v.connect.idleTimeout) }}{{ end -}}
{{- end -}}
{{- $_ := mergeOverwrite $conf (include "spark-client-app.metricsConf" . | fromJson) -}}
{{- $_ := set $conf "spark.ui.port" ($v.ui.port | int | toString) -}}
{{- $_ := set $conf "spark.ui.killEnabled" (ternary "true" "false" $v.ui.killEnabled) -}}
{{- if include "spark-client-app.uiPathMode" . -}}
{{- $_ := set $conf "spark.ui.proxyBase" (include "spark-client-app.uiPath" .) -}}
{{- $redirect := $v.ui.ingress.proxyRedirectUri -}}
{{- if and (not $redirect) (include "spark-client-app.uiRoutePathMode" .) -}}
{{- /* Behind a Gateway the scheme and host are the listener's: redirects stay relative. */ -}}
{{- $redirect = "/" -}}
{{- else if not $redirect -}}
{{- $host := include "spark-client-app.uiHost" . -}}
{{- $redirect = ternary (printf "%s://%s" (include "spark-client-app.uiScheme" .) $host) "/" (ne $host "") -}}
{{- end -}}
{{- $_ := set $conf "spark.ui.proxyRedirectUri" $redirect -}}
{{- end -}}
{{- range $kind, $key := dict "jars" "spark.jars" "files" "spark.files" "pyFiles" "spark.submit.pyFiles" "packages" "spark.jars.packages" "repositories" "spark.jars.repositories" "archives" "spark.archives" -}}
{{- with include "spark-client-app.dependencyList" (dict "ctx" $.ctx "kind" $kind) }}{{ $_ := set $conf $key . }}{{ end -}}
{{- end -}}
{{- if and (hasKey $conf "spark.jars.packages") (not (hasKey $conf "spark.jars.ivy")) -}}
{{- $_ := set $conf "spark.jars.ivy" "/tmp/.ivy2" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The text of spark-defaults.conf: one "key value" line per entry, sorted by key.
Spark reads the file with java.util.Properties.load, where a backslash starts an escape (and one
at the end of a line joins the next line), and a value's leading "=" or ":" would be taken as a
separator. So a backslash is written as "\\" and a leading "=" or ":" as "\=" or "\:"; Spark then
reads every value as given. Keys need no escaping: the schema refuses whitespace, "=", ":" and "\"
in them, and newlines anywhere.
*/}}
{{- define "spark-client-app.sparkDefaultsConf" -}}
# Generated by the spark-client-app chart from values; do not edit.
{{- $conf := dict }}
{{- include "spark-client-app.fillSparkConf" (dict "ctx" . "conf" $conf) }}
{{- range $key := keys $conf | sortAlpha }}
{{- $value := get $conf $key | replace "\\" "\\\\" }}
{{- if or (hasPrefix "=" $value) (hasPrefix ":" $value) }}{{ $value = printf "\\%s" $value }}{{ end }}
{{ printf "%-48s %s" $key $value }}
{{- end }}
{{- end -}}
