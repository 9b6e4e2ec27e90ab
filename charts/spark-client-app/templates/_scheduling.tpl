{{/*
Queue schedulers and gang scheduling without an operator: what the driver Pod and the executor pod
template carry for YuniKorn, Kueue and the native scheduling.k8s.io Workload API (Volcano's
PodGroup annotation is in _pod.tpl), and the pods' resources these need to know in advance.

In client mode the driver creates the executors, so no gang may hold the driver back until the
executors exist: YuniKorn reserves the executors' placeholders itself (task groups), and the
Kueue pod group and the native gang hold the executors only.
*/}}

{{/*
The number of executors Spark starts with (int): what it asks for (initialExecutors, _sparkconf.tpl),
with dynamic allocation at least minExecutors (Spark takes the larger of the two).
*/}}
{{- define "spark-client-app.startingExecutors" -}}
{{- $asked := include "spark-client-app.initialExecutors" . | int -}}
{{- if include "spark-client-app.dynamicAllocationEnabled" . -}}
{{- max $asked (.Values.dynamicAllocation.minExecutors | int) -}}
{{- else -}}
{{- $asked -}}
{{- end -}}
{{- end -}}

{{/*
The resources of the driver container as YAML: driver.resources, else requests cpu = driver.cores
and requests and limits memory = driver.memory + overhead (driver.memoryOverhead, else 10% and at
least 384 MiB, as Spark computes it).
*/}}
{{- define "spark-client-app.driverResources" -}}
{{- $v := .Values -}}
{{- $resources := $v.driver.resources -}}
{{- if not $resources -}}
{{- $memMi := include "spark-client-app.memoryMi" $v.driver.memory | int64 -}}
{{- $overheadMi := max 384 (div $memMi 10) -}}
{{- with $v.driver.memoryOverhead }}{{ $overheadMi = include "spark-client-app.memoryMi" . | int64 }}{{ end -}}
{{- $mem := printf "%dMi" (add $memMi $overheadMi) -}}
{{- $resources = dict "requests" (dict "cpu" ($v.driver.cores | int | toString) "memory" $mem) "limits" (dict "memory" $mem) -}}
{{- end -}}
{{- toYaml $resources -}}
{{- end -}}

{{/*
The requests of one executor pod as YAML, as Spark's BasicExecutorFeatureStep sets them: cpu =
executor.requestCores, else executor.cores; memory = executor.memory + executor.memoryOverhead
(else 10% and at least 384 MiB).
*/}}
{{- define "spark-client-app.executorRequests" -}}
{{- $e := .Values.executor -}}
{{- $memMi := include "spark-client-app.memoryMi" $e.memory | int64 -}}
{{- $overheadMi := max 384 (div $memMi 10) -}}
{{- with $e.memoryOverhead }}{{ $overheadMi = include "spark-client-app.memoryMi" . | int64 }}{{ end -}}
{{- toYaml (dict "cpu" (toString ($e.requestCores | default $e.cores)) "memory" (printf "%dMi" (add $memMi $overheadMi))) -}}
{{- end -}}

{{/*
The number of executors of a gang (YuniKorn's executor task group, the native gang): the given
value, else the executors Spark asks for at start, at least 1 (dynamic allocation from zero asks for
its first executor when work arrives). Call with (dict "ctx" $ "value" <int or nil>).
*/}}
{{- define "spark-client-app.gangSize" -}}
{{- if kindIs "invalid" .value }}{{ max 1 (include "spark-client-app.startingExecutors" .ctx | int) }}{{ else }}{{ .value | int }}{{ end -}}
{{- end -}}

{{/*
YuniKorn's task groups (the yunikorn.apache.org/task-groups annotation of the driver, the first pod
of the application) as JSON: `spark-driver` (the driver, 1 member) and `spark-executor`, each with
the requests, node selector, tolerations and affinity of its pods, so that the placeholders
reserve what the real pods will ask for.
*/}}
{{- define "spark-client-app.yunikornTaskGroups" -}}
{{- $v := .Values -}}
{{- $gang := $v.scheduler.yunikorn.gang -}}
{{- $driverResources := include "spark-client-app.driverResources" . | fromYaml -}}
{{- $driverGroup := dict "name" "spark-driver" "minMember" 1 "minResource" ($driverResources.requests | default $driverResources.limits) -}}
{{- $executorResource := $gang.executorMinResource | default (include "spark-client-app.executorRequests" . | fromYaml) -}}
{{- $executorGroup := dict "name" "spark-executor" "minMember" (include "spark-client-app.gangSize" (dict "ctx" . "value" $gang.minMember) | int) "minResource" $executorResource -}}
{{- range $role, $group := dict "driver" $driverGroup "executor" $executorGroup -}}
{{- $r := get $v $role -}}
{{- with $r.nodeSelector }}{{ $_ := set $group "nodeSelector" . }}{{ end -}}
{{- with $r.tolerations }}{{ $_ := set $group "tolerations" . }}{{ end -}}
{{- with include "spark-client-app.affinityYaml" (dict "ctx" $ "role" $role) }}{{ $_ := set $group "affinity" (fromYaml .) }}{{ end -}}
{{- end -}}
{{- toJson (list $driverGroup $executorGroup) -}}
{{- end -}}

{{/*
Renders nothing; sets the labels and annotations the chart adds to a role's pods for the scheduler
(Volcano, YuniKorn, Kueue) and for metrics scraping into the dicts given as "labels" and
"annotations". What it sets wins over the role's own labels and annotations.
Call with (dict "ctx" $ "role" "driver" "labels" $labels "annotations" $annotations).
*/}}
{{- define "spark-client-app.fillPodMetadata" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $s := $v.scheduler -}}
{{- $labels := .labels -}}
{{- $ann := .annotations -}}
{{- $driver := eq .role "driver" -}}
{{- include "spark-client-app.fillPodGroupAnnotations" (dict "ctx" $ctx "into" $ann) -}}
{{- if eq $s.name "yunikorn" -}}
{{- /* YuniKorn reads the app ID from this label first, then the annotation, then Spark's spark-app-selector
  label, which differs between the driver and the executors in client mode; the annotation keeps
  YuniKorn versions that do not read the label. The same holds for the queue. */ -}}
{{- $appId := $s.yunikorn.applicationId | default (include "spark-client-app.appName" $ctx) -}}
{{- $_ := set $labels "yunikorn.apache.org/app-id" $appId -}}
{{- $_ := set $ann "yunikorn.apache.org/app-id" $appId -}}
{{- with $s.queue -}}
{{- $_ := set $labels "yunikorn.apache.org/queue" . -}}
{{- $_ := set $ann "yunikorn.apache.org/queue" . -}}
{{- end -}}
{{- $gang := $s.yunikorn.gang -}}
{{- if $gang.enabled -}}
{{- $_ := set $ann "yunikorn.apache.org/task-group-name" (ternary "spark-driver" "spark-executor" $driver) -}}
{{- if $driver -}}
{{- $_ := set $ann "yunikorn.apache.org/task-groups" (include "spark-client-app.yunikornTaskGroups" $ctx) -}}
{{- $params := list (printf "gangSchedulingStyle=%s" $gang.style) -}}
{{- if not (kindIs "invalid" $gang.placeholderTimeoutSeconds) }}{{ $params = prepend $params (printf "placeholderTimeoutInSeconds=%d" ($gang.placeholderTimeoutSeconds | int)) }}{{ end -}}
{{- $_ := set $ann "yunikorn.apache.org/schedulingPolicyParameters" (join " " $params) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $s.kueue.enabled -}}
{{- $_ := set $labels "kueue.x-k8s.io/queue-name" $s.queue -}}
{{- if not $driver -}}
{{- /* Kueue skips pods whose owner it manages (the driver pod) unless they say who suspends them. */ -}}
{{- $_ := set $labels "kueue.x-k8s.io/managed" "true" -}}
{{- $_ := set $ann "kueue.x-k8s.io/pod-suspending-parent" "spark-driver" -}}
{{- if $s.kueue.executorPodGroup -}}
{{- /* Kueue before 0.18 reads the group name from the label, 0.18 and later from the annotation first. */ -}}
{{- $group := include "spark-client-app.executorGroupName" $ctx -}}
{{- $_ := set $labels "kueue.x-k8s.io/pod-group-name" $group -}}
{{- $_ := set $ann "kueue.x-k8s.io/pod-group-name" $group -}}
{{- $_ := set $ann "kueue.x-k8s.io/pod-group-total-count" (toString ($v.executor.instances | int)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $driver $v.metrics.enabled (not $v.metrics.podMonitor.enabled) -}}
{{- $_ := set $ann "prometheus.io/scrape" "true" -}}
{{- $_ := set $ann "prometheus.io/port" (toString ($v.ui.port | int)) -}}
{{- $_ := set $ann "prometheus.io/path" (include "spark-client-app.driverMetricsScrapePath" $ctx) -}}
{{- end -}}
{{- end -}}

{{/*
The executor pod template's reference to its native gang (scheduler.gang) as YAML, empty without
one: schedulingGroup.podGroupName (scheduling.k8s.io v1alpha2 and later, Kubernetes 1.36+) or
workloadRef (v1alpha1, Kubernetes 1.35).
*/}}
{{- define "spark-client-app.executorGangRef" -}}
{{- $gang := .Values.scheduler.gang -}}
{{- if $gang.enabled -}}
{{- $group := include "spark-client-app.executorGroupName" . -}}
{{- if eq $gang.apiVersion "scheduling.k8s.io/v1alpha1" -}}
workloadRef:
  name: {{ $group }}
  podGroup: executors
{{- else -}}
schedulingGroup:
  podGroupName: {{ $group }}
{{- end -}}
{{- end -}}
{{- end -}}
