{{/*
What the driver Pod and the executor pod template share: the pod-level spec fragment, the image,
scheduling (affinity, Volcano PodGroup), Hadoop configuration and the writable scratch directories.
*/}}

{{/* The Spark image reference: image.repository:image.tag, the tag defaulting to the chart's appVersion. */}}
{{- define "spark-client-app.imageRef" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/* The names of the image pull Secrets as a YAML list (empty when none): image.pullSecrets holds names or {name: ...} objects. */}}
{{- define "spark-client-app.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.image.pullSecrets -}}
{{- if kindIs "map" . }}{{ $names = append $names .name }}{{ else }}{{ $names = append $names . }}{{ end -}}
{{- end -}}
{{- if $names }}{{ toYaml $names }}{{ end -}}
{{- end -}}

{{/*
A Spark memory string ("512m", "2g", "1024" = MiB) as a number of MiB, rounded up.
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

{{/* A path without its local:// scheme: in client mode the driver reads local files directly. */}}
{{- define "spark-client-app.localPath" -}}
{{- if hasPrefix "local://" . }}{{ trimPrefix "local://" . }}{{ else }}{{ . }}{{ end -}}
{{- end -}}

{{/*
The affinity of a role's pods as YAML (empty when there is none): <role>.affinity plus a required
node affinity `<key> In <values>` built from the <role>.nodeAffinity shorthand (_preflight.tpl
refuses both forms of node affinity at once). Call with (dict "ctx" $ "role" "driver").
*/}}
{{- define "spark-client-app.affinityYaml" -}}
{{- $r := get .ctx.Values .role -}}
{{- $aff := deepCopy ($r.affinity | default dict) -}}
{{- $na := $r.nodeAffinity | default dict -}}
{{- if $na.values -}}
{{- $expr := dict "key" ($na.key | default "type") "operator" "In" "values" $na.values -}}
{{- $terms := list (dict "matchExpressions" (list $expr)) -}}
{{- $_ := set $aff "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" $terms)) -}}
{{- end -}}
{{- if $aff }}{{ toYaml $aff }}{{ end -}}
{{- end -}}

{{/* "true" when the app runs in a Volcano PodGroup (scheduler.name volcano and volcano.podGroup.enabled), else empty. */}}
{{- define "spark-client-app.podGroupEnabled" -}}
{{- $pg := (.Values.volcano | default dict).podGroup | default dict -}}
{{- if and (eq .Values.scheduler.name "volcano") $pg.enabled }}true{{ end -}}
{{- end -}}

{{/*
Renders nothing; sets the annotation that puts a pod in the app's Volcano PodGroup (when there is
one) into the dict given as "into". Call with (dict "ctx" $ "into" $dict).
*/}}
{{- define "spark-client-app.fillPodGroupAnnotations" -}}
{{- if include "spark-client-app.podGroupEnabled" .ctx -}}
{{- $_ := set .into "scheduling.k8s.io/group-name" (include "spark-client-app.podGroupName" .ctx) -}}
{{- end -}}
{{- end -}}

{{/* Where hadoop.configMap is mounted: HADOOP_CONF_DIR. */}}
{{- define "spark-client-app.hadoopConfDir" -}}
/etc/hadoop/conf
{{- end -}}

{{/* The HADOOP_CONF_DIR environment variable as a YAML EnvVar list (empty without hadoop.configMap). */}}
{{- define "spark-client-app.hadoopEnvVars" -}}
{{- if .Values.hadoop.configMap -}}
- name: HADOOP_CONF_DIR
  value: {{ include "spark-client-app.hadoopConfDir" . }}
{{- end -}}
{{- end -}}

{{/*
The writable scratch directories (the root filesystem is read-only) as a YAML list: their emptyDir
volumes, or their mounts. Call with (dict "ctx" $ "part" "volumes") or (dict "ctx" $ "part" "mounts").
*/}}
{{- define "spark-client-app.scratchVolumes" -}}
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

{{/*
The pod-level spec shared by the driver Pod and the executor pod template, as YAML (the fields
before `containers`): restart policy, service links, identity, scheduling, security context and
image pull Secrets. The driver keeps its API token (it creates the executors) and its own restart
policy and grace period; the executors never talk to the API server.
Call with (dict "ctx" $ "role" "driver") or (dict "ctx" $ "role" "executor").
*/}}
{{- define "spark-client-app.podSpecCommon" -}}
{{- $v := .ctx.Values -}}
{{- $r := get $v .role -}}
{{- if eq .role "driver" -}}
restartPolicy: {{ include "spark-client-app.driverRestartPolicy" .ctx }}
enableServiceLinks: false
serviceAccountName: {{ include "spark-client-app.driverServiceAccountName" .ctx }}
automountServiceAccountToken: true
terminationGracePeriodSeconds: {{ $r.terminationGracePeriodSeconds | int }}
{{- else -}}
restartPolicy: Never
enableServiceLinks: false
serviceAccountName: {{ include "spark-client-app.executorServiceAccountName" .ctx }}
automountServiceAccountToken: false
{{- with include "spark-client-app.executorGangRef" .ctx }}
{{ . }}
{{- end }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.scheduler.name }}
schedulerName: {{ . }}
{{- end }}
{{- with $r.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "spark-client-app.affinityYaml" (dict "ctx" .ctx "role" .role) }}
affinity:
  {{- . | nindent 2 }}
{{- end }}
{{- with $r.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $r.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "spark-client-app.pullSecretNames" .ctx | fromYamlArray }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The executor pod template (spark.kubernetes.executor.podTemplateFile) as YAML.
Spark fills in the container's image, command, resources and ownerReference; the template carries
what only Kubernetes knows: labels, scheduling, security and volumes.
*/}}
{{- define "spark-client-app.executorPodTemplate" -}}
{{- $v := .Values -}}
{{- $labels := dict "spark-role" "executor" -}}
{{- $extra := dict -}}
{{- include "spark-client-app.fillPodMetadata" (dict "ctx" . "role" "executor" "labels" $labels "annotations" $extra) -}}
{{- include "spark-client-app.fillLabels" (dict "ctx" . "component" "executor" "into" $labels "extra" $v.executor.labels) -}}
{{- $_ := unset $labels "helm.sh/chart" -}}
{{- $_ := unset $labels "app.kubernetes.io/managed-by" -}}
{{- $_ := merge $extra ($v.executor.annotations | default dict) -}}
{{- $env := list (include "spark-client-app.hadoopEnvVars" .) (include "spark-client-app.secretEnvVars" .) (include "spark-client-app.rpcExecutorEnvVars" .) -}}
{{- with $v.executor.env }}{{ $env = append $env (toYaml .) }}{{ end -}}
{{- $mounts := list (include "spark-client-app.scratchVolumes" (dict "ctx" . "part" "mounts")) (include "spark-client-app.secretFileVolumes" (dict "ctx" . "part" "mounts")) (include "spark-client-app.rpcSecretVolumes" (dict "ctx" . "part" "mounts")) -}}
{{- with $v.executor.volumeMounts }}{{ $mounts = append $mounts (toYaml .) }}{{ end -}}
{{- $volumes := list (include "spark-client-app.scratchVolumes" (dict "ctx" . "part" "volumes")) (include "spark-client-app.secretFileVolumes" (dict "ctx" . "part" "volumes")) (include "spark-client-app.rpcSecretVolumes" (dict "ctx" . "part" "volumes")) -}}
{{- with $v.executor.volumes }}{{ $volumes = append $volumes (toYaml .) }}{{ end -}}
{{- with $v.hadoop.configMap -}}
{{- $mounts = append $mounts (printf "- name: hadoop-conf\n  mountPath: %s\n  readOnly: true" (include "spark-client-app.hadoopConfDir" $)) -}}
{{- $volumes = append $volumes (printf "- name: hadoop-conf\n  configMap:\n    name: %s" .) -}}
{{- end -}}
apiVersion: v1
kind: Pod
metadata:
  labels:
    {{- include "spark-client-app.quotedMap" $labels | nindent 4 }}
  {{- with include "spark-client-app.objectAnnotations" (dict "ctx" . "extra" $extra) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  {{- include "spark-client-app.podSpecCommon" (dict "ctx" . "role" "executor") | nindent 2 }}
  containers:
    - name: executor
      terminationMessagePolicy: FallbackToLogsOnError
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
