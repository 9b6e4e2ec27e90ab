{{/*
Scheduled runs (schedule.cron): the application is a CronJob whose Job pod is the client-mode driver,
instead of the bare driver Pod. Kubernetes' own CronJob and Job controllers start the runs; no operator.

Every run is a new Job and a new pod, with a name the controllers generate
(<cronjob>-<minutes since 1970>-<5 random characters>) and an IP of its own, and two runs may overlap
(concurrencyPolicy Allow). So the wiring a single run reads from spark-defaults.conf is given per run on
spark-submit's command line, from the pod's own name and IP (downward API, `$(VAR)` expansion):
  spark.kubernetes.driver.pod.name        = the Job pod's name: Spark reads its pod and owns its executors
                                            by it, so executors are garbage-collected with their run;
  spark.kubernetes.executor.podNamePrefix = the Job pod's name too: unique per run (and per retry), at most
                                            47 characters because the CronJob name has at most 32 (_names.tpl);
  spark.driver.host                       = the pod's IP. A headless Service cannot be rendered for a run:
                                            its selector would need a label only the run's pod has, and the
                                            chart only knows labels every run shares (two overlapping runs
                                            would both be endpoints, and an executor could register with the
                                            other run's driver). The pod IP reaches exactly this run's driver.
spark.kubernetes.executor.useDriverPodIP stays false: executors dial spark.driver.host, which for a run is
the pod IP, on Spark 3 and 4 images alike.
Ownership: executor -> driver pod (Spark) -> Job (Job controller) -> CronJob (CronJob controller).
*/}}

{{/* "true" when the application runs on a schedule (schedule.cron), else empty. */}}
{{- define "spark-client-app.scheduled" -}}
{{- if (.Values.schedule | default dict).cron }}true{{ end -}}
{{- end -}}

{{/* The ttl value ("1h30m", "2d") as a number of seconds: each run's ttlSecondsAfterFinished. The schema admits only these forms. */}}
{{- define "spark-client-app.ttlSeconds" -}}
{{- $units := dict "s" 1 "m" 60 "h" 3600 "d" 86400 -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+[smhd]" (toString .) -1 -}}
{{- $total = add $total (mul (regexFind "^[0-9]+" . | int64) (get $units (regexFind "[smhd]$" .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
The pod template of a run's Job, as YAML: the driver Pod of templates/driver-pod.yaml (rendered for a
job template: the context carries `jobTemplate`), without a name (the Job controller generates one),
restartPolicy Never (a restarted container would keep the pod's name, and so its executors' names), and
the per-run wiring above on spark-submit's command line, right after spark.driver.bindAddress.
*/}}
{{- define "spark-client-app.jobPodTemplate" -}}
{{- $ctx := merge (dict "jobTemplate" true) . -}}
{{- $pod := include (print .Template.BasePath "/driver-pod.yaml") $ctx | fromYaml -}}
{{- $_ := unset $pod.metadata "name" -}}
{{- $_ := unset $pod.metadata "namespace" -}}
{{- $_ := set $pod.spec "restartPolicy" "Never" -}}
{{- $container := first $pod.spec.containers -}}
{{- $podName := dict "name" "SPARK_DRIVER_POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")) -}}
{{- $_ := set $container "env" (append $container.env $podName) -}}
{{- $run := list
  "--conf" "spark.kubernetes.driver.pod.name=$(SPARK_DRIVER_POD_NAME)"
  "--conf" "spark.kubernetes.executor.podNamePrefix=$(SPARK_DRIVER_POD_NAME)"
  "--conf" "spark.driver.host=$(SPARK_DRIVER_BIND_ADDRESS)"
-}}
{{- $args := $container.args -}}
{{- $_ := set $container "args" (concat (slice $args 0 3) $run (slice $args 3)) -}}
metadata:
  {{- toYaml $pod.metadata | nindent 2 }}
spec:
  {{- toYaml $pod.spec | nindent 2 }}
{{- end -}}
