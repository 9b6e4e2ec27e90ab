{{/*
Credentials from existing Kubernetes Secrets (secrets.env, secrets.files), on the driver and the
executors alike. The chart never holds a credential itself: _preflight.tpl refuses them in values.
*/}}

{{/* The environment variables of secrets.env, as a YAML list of Kubernetes EnvVars (empty when none). */}}
{{- define "spark-client-app.secretEnvVars" -}}
{{- $out := list -}}
{{- range .Values.secrets.env -}}
{{- $ref := dict "name" .secretName "key" .key -}}
{{- if hasKey . "optional" }}{{ $_ := set $ref "optional" .optional }}{{ end -}}
{{- $out = append $out (dict "name" .name "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- if $out }}{{ toYaml $out }}{{ end -}}
{{- end -}}

{{/*
The Secret volumes of secrets.files, or their read-only mounts, as a YAML list (empty when none).
Call with (dict "ctx" $ "part" "volumes") or (dict "ctx" $ "part" "mounts").
*/}}
{{- define "spark-client-app.secretFileVolumes" -}}
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
Spark's RPC authentication (security.rpc): one shared secret per application, which the driver and
every executor read from a file mounted from a Kubernetes Secret, never from an environment
variable, a ConfigMap or a command line. How the secret is made is said in rpc-secret.yaml.

Spark reads the file at spark.authenticate.secret.file on both sides, and so does the executor's
first connection to the driver (KubernetesExecutorBackend fetches the driver's configuration with
a SecurityManager that knows only that key). spark.authenticate.secret.driver.file and .executor.file
are for a driver that is not a pod (client mode from a laptop), where the two paths differ; here the
driver is a pod and the Secret is mounted at the same path in both pods, so the chart sets only the
common key. With no file configured Spark would generate a secret and hand it to each executor in
the environment variable _SPARK_AUTH_SECRET of its pod spec, readable by whoever may read pods.
*/}}

{{/*
The executor's environment variable that makes Spark read the secret file at all, as a YAML EnvVar
list (empty when authentication is off). Before an executor gets the driver's configuration it
connects to the driver with a configuration made of its JVM's system properties only, and Spark
(SecurityManager.secretKeyFromFile, since 3.0 and still in 4.3) reads spark.authenticate.secret.file only when that
configuration has a k8s:// spark.master, which the driver does not pass to executors
(SparkConf.isExecutorStartupConf): the executor fails with "A secret key must be specified". So
spark.master is passed as one more SPARK_JAVA_OPT_* variable, the channel through which Spark hands
JVM options to the image's executor entrypoint (every Spark image's entrypoint.sh reads them all).
*/}}
{{- define "spark-client-app.rpcExecutorEnvVars" -}}
{{- if include "spark-client-app.rpcAuthEnabled" . -}}
- name: SPARK_JAVA_OPT_MASTER
  value: -Dspark.master={{ include "spark-client-app.sparkMaster" . }}
{{- end -}}
{{- end -}}

{{/* "true" when Spark authenticates its connections (security.rpc.authenticate), else empty. */}}
{{- define "spark-client-app.rpcAuthEnabled" -}}
{{- if .Values.security.rpc.authenticate }}true{{ end -}}
{{- end -}}

{{/* The directory where the shared secret is mounted, read-only, in the driver and the executors. */}}
{{- define "spark-client-app.rpcSecretDir" -}}
/etc/spark/rpc-auth
{{- end -}}

{{/* The file Spark reads the shared secret from (spark.authenticate.secret.file). */}}
{{- define "spark-client-app.rpcSecretFile" -}}
{{- include "spark-client-app.rpcSecretDir" . }}/secret
{{- end -}}

{{/* The Secret that holds the shared secret: security.rpc.existingSecret, else the chart's <app>-rpc-secret. */}}
{{- define "spark-client-app.rpcSecretRef" -}}
{{- .Values.security.rpc.existingSecret | default (include "spark-client-app.rpcSecretName" .) -}}
{{- end -}}

{{/*
The volume of the shared secret, or its read-only mount, as a YAML list (empty when authentication
is off). Call with (dict "ctx" $ "part" "volumes") or (dict "ctx" $ "part" "mounts").
Mode 0444 as for secrets.files: the pod has one container whose processes all run as one user, and
0440 would leave the file unreadable to that user whenever podSecurityContext.fsGroup is removed.
*/}}
{{- define "spark-client-app.rpcSecretVolumes" -}}
{{- if include "spark-client-app.rpcAuthEnabled" .ctx -}}
{{- $rpc := .ctx.Values.security.rpc -}}
{{- if eq .part "mounts" -}}
{{- toYaml (list (dict "name" "spark-rpc-auth" "mountPath" (include "spark-client-app.rpcSecretDir" .ctx) "readOnly" true)) -}}
{{- else -}}
{{- $key := ternary ($rpc.existingSecretKey | default "secret") "secret" (ne ($rpc.existingSecret | toString) "") -}}
{{- $secret := dict "secretName" (include "spark-client-app.rpcSecretRef" .ctx) "defaultMode" 292 "items" (list (dict "key" $key "path" "secret")) -}}
{{- toYaml (list (dict "name" "spark-rpc-auth" "secret" $secret)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
