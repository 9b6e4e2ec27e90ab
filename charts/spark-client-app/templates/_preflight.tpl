{{/*
Checks of the values, kept apart from the templates that render objects. Each renders nothing and
`fail`s with one line that names the keys and the fix. spark-client-app.preflight runs them all,
once per render, from configmap.yaml (always rendered).

The schema (values.schema.json) checks each value on its own; these checks need the chart's files
(credentials, wiring keys) or several values at once (the cross-field rules). sparkhelm renders
through the chart, so its users get the same checks.
*/}}

{{/* Runs every check below. */}}
{{- define "spark-client-app.preflight" -}}
{{- include "spark-client-app.checkAppName" . -}}
{{- include "spark-client-app.checkScheduleRules" . -}}
{{- include "spark-client-app.refuseWiringKeys" . -}}
{{- include "spark-client-app.refuseCredentials" . -}}
{{- include "spark-client-app.refuseSnippets" . -}}
{{- include "spark-client-app.checkCrossFieldRules" . -}}
{{- include "spark-client-app.checkSchedulingAndMetrics" . -}}
{{- include "spark-client-app.checkRpcSecurity" . -}}
{{- end -}}

{{/* The app-name: a DNS-1035 label of at most 47 characters (see _names.tpl). */}}
{{- define "spark-client-app.checkAppName" -}}
{{- $name := include "spark-client-app.appName" . -}}
{{- if gt (len $name) 47 -}}
{{- fail (printf "app name %q has %d characters, the limit is 47 (Spark's executor pod name prefix): set nameOverride or use a shorter release name" $name (len $name)) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "app name %q is not a DNS-1035 label: use lowercase letters, digits and '-', start with a letter and end with a letter or digit (set nameOverride)" $name) -}}
{{- end -}}
{{- end -}}

{{/*
Refuse a sparkConf key that the client-mode wiring owns, naming the value to set instead
(files/wiring-keys.yaml is shared with the sparkhelm CLI).
*/}}
{{- define "spark-client-app.refuseWiringKeys" -}}
{{- $wiringText := printf "\n%s" (.Files.Get "files/wiring-keys.yaml") -}}
{{- range $key, $_ := .Values.sparkConf -}}
{{- /* A line search first: parsing wiring-keys.yaml costs more than the rest of the checks. */ -}}
{{- if contains (printf "\n%s:" $key) $wiringText -}}
{{- $wiring := $wiringText | fromYaml -}}
{{- fail (printf "sparkConf.%s is set by the chart (client-mode wiring): remove it and set %s instead" $key (get $wiring $key)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Refuse credentials where they would be stored in clear: in the ConfigMap (sparkConf, sparkEnv), in
literal environment variables, in application arguments, and therefore in the Helm release record
too. What a credential looks like is in files/credentials.yaml (shared with the sparkhelm CLI).
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

{{/*
A Kubernetes CPU quantity as a number of millicores: "500m" -> 500, "1.5" or 1.5 -> 1500, 2 -> 2000.
The schema admits only these forms.
*/}}
{{- define "spark-client-app.cpuMillicores" -}}
{{- $s := toString . -}}
{{- if hasSuffix "m" $s -}}{{ trimSuffix "m" $s | int64 }}
{{- else -}}{{ round (mulf (float64 $s) 1000) 0 | int64 }}
{{- end -}}
{{- end -}}

{{/*
Rules that involve several values, each of which is valid on its own. Without them the release
installs and the application fails later: when the driver starts (Spark's own checks), when Spark
asks for executor pods (the API server's), or never visibly (a NetworkPolicy that drops traffic).
*/}}
{{- define "spark-client-app.checkCrossFieldRules" -}}
{{- $v := .Values -}}

{{- /* One node affinity per role: the shorthand builds the nodeAffinity that affinity would also set. */ -}}
{{- range $role := list "driver" "executor" -}}
{{- $r := get $v $role -}}
{{- if and ($r.nodeAffinity | default dict).values (hasKey ($r.affinity | default dict) "nodeAffinity") -}}
{{- fail (printf "%s.nodeAffinity.values and %s.affinity.nodeAffinity are both set: keep one of them" $role $role) -}}
{{- end -}}
{{- end -}}

{{- /* Host mode serves the UI at <app>.<domain>. */ -}}
{{- $ing := $v.ui.ingress -}}
{{- if and $ing.enabled (eq $ing.mode "host") (not ($ing.domain | default $ing.host)) -}}
{{- fail "ui.ingress.domain is required when ui.ingress.mode is host: the UI is served at <app>.<domain>" -}}
{{- end -}}

{{- /* Spark's SparkSubmitArguments: no executors is only valid with dynamic allocation. */ -}}
{{- $da := $v.dynamicAllocation -}}
{{- $dynamic := include "spark-client-app.dynamicAllocationEnabled" . -}}
{{- if and (not $dynamic) (eq ($v.executor.instances | int) 0) -}}
{{- fail "executor.instances is 0 without dynamic allocation: Spark refuses to start an application without executors; set executor.instances to 1 or more, or dynamicAllocation.enabled=true" -}}
{{- end -}}

{{- /* Spark's ExecutorAllocationManager refuses these when the driver starts. (executor.instances
  outside [min, max] is not refused: Spark starts max(minExecutors, executor.instances) executors.) */ -}}
{{- if $dynamic -}}
{{- if eq ($da.maxExecutors | int) 0 -}}
{{- fail "dynamicAllocation.maxExecutors is 0: Spark refuses it with dynamic allocation (spark.dynamicAllocation.maxExecutors cannot be 0); set it to 1 or more" -}}
{{- end -}}
{{- if gt ($da.minExecutors | int) ($da.maxExecutors | int) -}}
{{- fail (printf "dynamicAllocation.minExecutors (%d) is greater than dynamicAllocation.maxExecutors (%d): Spark refuses it when the driver starts; lower minExecutors or raise maxExecutors" ($da.minExecutors | int) ($da.maxExecutors | int)) -}}
{{- end -}}
{{- end -}}

{{- /* Spark's SparkContext: a task must fit in one executor. */ -}}
{{- with index ($v.sparkConf | default dict) "spark.task.cpus" -}}
{{- if gt (include "spark-client-app.confText" . | int) ($v.executor.cores | int) -}}
{{- fail (printf "sparkConf.spark.task.cpus (%s) is greater than executor.cores (%d): Spark refuses it when the driver starts; raise executor.cores or lower spark.task.cpus" (include "spark-client-app.confText" .) ($v.executor.cores | int)) -}}
{{- end -}}
{{- end -}}

{{- /* The API server refuses executor pods whose CPU request exceeds their limit, at run time. */ -}}
{{- with $v.executor.limitCores -}}
{{- $request := $v.executor.requestCores | default $v.executor.cores -}}
{{- $requestKey := ternary "executor.requestCores" "executor.cores" (ne (toString ($v.executor.requestCores | default "")) "") -}}
{{- if gt (include "spark-client-app.cpuMillicores" $request | int64) (include "spark-client-app.cpuMillicores" . | int64) -}}
{{- fail (printf "%s (%v) is greater than executor.limitCores (%v): Kubernetes refuses executor pods whose CPU request exceeds their limit; raise executor.limitCores or lower %s" $requestKey $request . $requestKey) -}}
{{- end -}}
{{- end -}}

{{- /* The driver binds each of its three ports (four with a Connect server) on its own. */ -}}
{{- $ports := dict -}}
{{- $driverPorts := dict "driver.port" $v.driver.port "driver.blockManagerPort" $v.driver.blockManagerPort "ui.port" $v.ui.port -}}
{{- $portKeys := "driver.port, driver.blockManagerPort and ui.port three" -}}
{{- if include "spark-client-app.connectEnabled" . -}}
{{- $_ := set $driverPorts "connect.port" $v.connect.port -}}
{{- $portKeys = "driver.port, driver.blockManagerPort, ui.port and connect.port four" -}}
{{- end -}}
{{- range $key, $port := $driverPorts -}}
{{- $p := $port | int | toString -}}
{{- if hasKey $ports $p -}}
{{- fail (printf "%s and %s are both %s: the driver binds each of its ports on its own; give %s different values" (get $ports $p) $key $p $portKeys) -}}
{{- end -}}
{{- $_ := set $ports $p $key -}}
{{- end -}}

{{- /* A node port exists only on a NodePort Service. */ -}}
{{- if and $v.ui.service.nodePort (ne $v.ui.service.type "NodePort") -}}
{{- fail (printf "ui.service.nodePort (%d) is set but ui.service.type is %s: set ui.service.type=NodePort, or remove ui.service.nodePort" ($v.ui.service.nodePort | int) $v.ui.service.type) -}}
{{- end -}}

{{- /* The driver's Role may create and delete pods: never bind it to the namespace's default account. */ -}}
{{- if and $v.rbac.create (not $v.serviceAccount.create) (not $v.serviceAccount.name) -}}
{{- fail "rbac.create with serviceAccount.create=false and no serviceAccount.name would bind the driver's Role to the namespace's default ServiceAccount, which every other pod uses: set serviceAccount.name, or serviceAccount.create=true, or rbac.create=false" -}}
{{- end -}}
{{- if and $v.serviceAccount.create $v.executor.serviceAccount.create (eq (include "spark-client-app.driverServiceAccountName" .) (include "spark-client-app.executorServiceAccountName" .)) -}}
{{- fail (printf "serviceAccount.name and executor.serviceAccount.name are both %q and both created: two ServiceAccounts cannot share a name, and the executors would get the driver's Role; give them different names" (include "spark-client-app.driverServiceAccountName" .)) -}}
{{- end -}}

{{- /* With NetworkPolicies, only the listed peers reach the UI port. */ -}}
{{- if and $v.networkPolicy.enabled $ing.enabled (not $v.networkPolicy.ingressControllerPeers) (not $v.networkPolicy.uiPeers) (ne $v.ui.service.type "NodePort") -}}
{{- fail "ui.ingress.enabled with networkPolicy.enabled needs networkPolicy.ingressControllerPeers (or networkPolicy.uiPeers): without a peer the NetworkPolicy drops the ingress controller's traffic to the UI; set the ingress controller's namespace there, or networkPolicy.enabled=false" -}}
{{- end -}}

{{- /* Kubernetes refuses a container with two volumes on one path, and a pod with two volumes of one
  name: for the executors only when Spark creates them, at run time. */ -}}
{{- range $role := list "driver" "executor" -}}
{{- $r := get $v $role -}}
{{- $paths := dict -}}
{{- $names := dict -}}
{{- if eq $role "driver" -}}
{{- $_ := set $paths (include "spark-client-app.sparkConfDir" $) "the Spark configuration" -}}
{{- $_ := set $names "spark-conf" "the Spark configuration" -}}
{{- end -}}
{{- if $v.hadoop.configMap -}}
{{- $_ := set $paths (include "spark-client-app.hadoopConfDir" $) "hadoop.configMap" -}}
{{- $_ := set $names "hadoop-conf" "hadoop.configMap" -}}
{{- end -}}
{{- if include "spark-client-app.rpcAuthEnabled" $ -}}
{{- $_ := set $paths (include "spark-client-app.rpcSecretDir" $) "the RPC secret (security.rpc)" -}}
{{- $_ := set $names "spark-rpc-auth" "the RPC secret (security.rpc)" -}}
{{- end -}}
{{- $mounts := list -}}
{{- range $i, $path := $v.scratch.mountPaths -}}
{{- $mounts = append $mounts (dict "path" $path "name" (printf "scratch-%d" $i) "key" (printf "scratch.mountPaths[%d]" $i)) -}}
{{- end -}}
{{- range $i, $f := $v.secrets.files -}}
{{- $mounts = append $mounts (dict "path" $f.mountPath "name" (printf "secret-%d" $i) "key" (printf "secrets.files[%d].mountPath" $i)) -}}
{{- end -}}
{{- range $i, $m := $r.volumeMounts -}}
{{- $mounts = append $mounts (dict "path" $m.mountPath "name" "" "key" (printf "%s.volumeMounts[%d]" $role $i)) -}}
{{- end -}}
{{- range $m := $mounts -}}
{{- $path := toString $m.path -}}
{{- if hasKey $paths $path -}}
{{- fail (printf "%s and %s both mount %s in the %s container: Kubernetes refuses two volumes on one path; change one of them" (get $paths $path) $m.key $path $role) -}}
{{- end -}}
{{- $_ := set $paths $path $m.key -}}
{{- with $m.name }}{{ $_ := set $names . $m.key }}{{ end -}}
{{- end -}}
{{- range $i, $vol := $r.volumes -}}
{{- $name := toString $vol.name -}}
{{- if hasKey $names $name -}}
{{- fail (printf "%s.volumes[%d] is named %q, a name the chart gives to %s: Kubernetes refuses two volumes of one name; rename it" $role $i $name (get $names $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- include "spark-client-app.checkRouteRules" . -}}
{{- include "spark-client-app.checkConnectRules" . -}}
{{- end -}}

{{/*
Rules of the Gateway API HTTPRoute of the UI (ui.httpRoute), alone and beside the Ingress: a route
that attaches to no Gateway, or that the NetworkPolicy cuts off, installs and never serves.
*/}}
{{- define "spark-client-app.checkRouteRules" -}}
{{- $v := .Values -}}
{{- $route := $v.ui.httpRoute | default dict -}}
{{- $ing := $v.ui.ingress -}}
{{- if $route.enabled -}}
{{- if not $route.parentRefs -}}
{{- fail "ui.httpRoute.enabled needs ui.httpRoute.parentRefs: a route attaches to the Gateways it names and serves nothing without one; set for example ui.httpRoute.parentRefs[0].name=<gateway> (and .namespace)" -}}
{{- end -}}
{{- if and (eq $route.mode "host") (not $route.domain) -}}
{{- fail "ui.httpRoute.domain is required when ui.httpRoute.mode is host: the UI is served at <app>.<domain>" -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $route.gatewayPeers) (ne $v.ui.service.type "NodePort") -}}
{{- fail "ui.httpRoute.enabled with networkPolicy.enabled needs ui.httpRoute.gatewayPeers: the Gateway's proxy runs where its implementation puts it, and without a peer the NetworkPolicy drops its traffic to the UI; set the proxy's namespace there (e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: envoy-gateway-system}}}]), or networkPolicy.enabled=false" -}}
{{- end -}}
{{- if $ing.enabled -}}
{{- if ne $ing.mode $route.mode -}}
{{- fail (printf "ui.ingress.mode (%s) and ui.httpRoute.mode (%s) differ: Spark has one spark.ui.proxyBase, so the Ingress and the HTTPRoute must serve the UI the same way; give them the same mode" $ing.mode $route.mode) -}}
{{- end -}}
{{- $ingPath := $ing.path | default (printf "/%s" (include "spark-client-app.appName" .)) -}}
{{- $routePath := $route.path | default (printf "/%s" (include "spark-client-app.appName" .)) -}}
{{- if and (eq $ing.mode "path") (ne $ingPath $routePath) -}}
{{- fail (printf "ui.ingress.path (%s) and ui.httpRoute.path (%s) differ: both are spark.ui.proxyBase, which has one value; give them the same path" $ingPath $routePath) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Rules of connect mode (connect.enabled): what would install and then not serve, serve nobody, or
size the server differently from its pod.
*/}}
{{- define "spark-client-app.checkConnectRules" -}}
{{- $v := .Values -}}
{{- $c := $v.connect | default dict -}}
{{- $route := $c.grpcRoute | default dict -}}
{{- $svc := $c.service | default dict -}}
{{- if and $route.enabled (not $c.enabled) -}}
{{- fail "connect.grpcRoute.enabled needs connect.enabled=true: the route forwards to the Spark Connect server, which only connect mode runs" -}}
{{- end -}}
{{- if $c.enabled -}}
{{- if and $route.enabled (not $route.parentRefs) -}}
{{- fail "connect.grpcRoute.enabled needs connect.grpcRoute.parentRefs: a route attaches to the Gateways it names and serves nothing without one; set for example connect.grpcRoute.parentRefs[0].name=<gateway> (and .namespace)" -}}
{{- end -}}
{{- if and $route.enabled ($v.ui.httpRoute | default dict).enabled -}}
{{- range $host := $route.hostnames -}}
{{- if has $host ($v.ui.httpRoute.hostnames | default list) -}}
{{- fail (printf "connect.grpcRoute.hostnames and ui.httpRoute.hostnames both hold %s: on a shared listener Gateway API rejects an HTTPRoute and a GRPCRoute whose host names intersect; give the Connect route its own host name" $host) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $route.enabled $v.networkPolicy.enabled (not $route.gatewayPeers) -}}
{{- fail "connect.grpcRoute.enabled with networkPolicy.enabled needs connect.grpcRoute.gatewayPeers: without a peer the NetworkPolicy drops the Gateway proxy's traffic to connect.port; set the proxy's namespace there, or networkPolicy.enabled=false" -}}
{{- end -}}
{{- if and $svc.nodePort (eq ($svc.type | default "ClusterIP") "ClusterIP") -}}
{{- fail (printf "connect.service.nodePort (%d) is set but connect.service.type is ClusterIP: set connect.service.type=NodePort (or LoadBalancer), or remove connect.service.nodePort" ($svc.nodePort | int)) -}}
{{- end -}}
{{- if and (ne ($svc.type | default "ClusterIP") "ClusterIP") $v.networkPolicy.enabled (not $c.allowFrom) -}}
{{- fail (printf "connect.service.type %s with networkPolicy.enabled needs connect.allowFrom: clients outside the cluster arrive from node or client addresses, which the default (pods of this namespace) does not admit; set connect.allowFrom to their ipBlock (e.g. [{ipBlock: {cidr: 10.20.0.0/16}}])" $svc.type) -}}
{{- end -}}
{{- if and (include "spark-client-app.dynamicAllocationEnabled" .) (hasKey ($v.sparkConf | default dict) "spark.dynamicAllocation.executorIdleTimeout") -}}
{{- fail "sparkConf.spark.dynamicAllocation.executorIdleTimeout is set by the chart in connect mode: remove it and set connect.idleTimeout instead" -}}
{{- end -}}
{{- /* spark-submit's launcher sizes the Connect server's heap from SPARK_DAEMON_MEMORY before
  spark.driver.memory, and the pod's memory is computed from driver.memory. */ -}}
{{- range $i, $line := splitList "\n" ($v.sparkEnv | default "") -}}
{{- if regexMatch "^\\s*(export\\s+)?SPARK_DAEMON_MEMORY=" $line -}}
{{- fail (printf "sparkEnv line %d sets SPARK_DAEMON_MEMORY, which would size the Spark Connect server's heap instead of driver.memory (the pod's memory is computed from driver.memory): remove it and set driver.memory" (add1 $i)) -}}
{{- end -}}
{{- end -}}
{{- range $i, $e := $v.driver.env -}}
{{- if eq (toString $e.name) "SPARK_DAEMON_MEMORY" -}}
{{- fail (printf "driver.env[%d] sets SPARK_DAEMON_MEMORY, which would size the Spark Connect server's heap instead of driver.memory (the pod's memory is computed from driver.memory): remove it and set driver.memory" $i) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Rules of the queue schedulers, the gangs and the metrics (each value valid on its own): a queue
nothing reads, two queueing systems at once, a gang that can never be complete, a Kueue pod group
of a size that dynamic allocation changes, metrics that sparkConf would re-route or that the
NetworkPolicy would drop.
*/}}
{{- define "spark-client-app.checkSchedulingAndMetrics" -}}
{{- $v := .Values -}}
{{- $s := $v.scheduler -}}
{{- $queueing := list -}}
{{- if include "spark-client-app.podGroupEnabled" . }}{{ $queueing = append $queueing "scheduler.name=volcano" }}{{ end -}}
{{- if eq $s.name "yunikorn" }}{{ $queueing = append $queueing "scheduler.name=yunikorn" }}{{ end -}}
{{- if $s.kueue.enabled }}{{ $queueing = append $queueing "scheduler.kueue.enabled" }}{{ end -}}
{{- if and $s.queue (not $queueing) -}}
{{- fail (printf "scheduler.queue (%s) is set but nothing reads it: set scheduler.name=volcano (with volcano.podGroup.enabled) or scheduler.name=yunikorn, or scheduler.kueue.enabled=true, or remove scheduler.queue" $s.queue) -}}
{{- end -}}
{{- if and $s.kueue.enabled (gt (len $queueing) 1) -}}
{{- fail (printf "%s both queue the application: Kueue admits pods that the other scheduler also queues; use one of them" (join " and " $queueing)) -}}
{{- end -}}
{{- if and $s.kueue.enabled (not $s.queue) -}}
{{- fail "scheduler.kueue.enabled needs scheduler.queue, the name of a Kueue LocalQueue in the release namespace: executors never get Kueue's default queue (their owner is the driver pod)" -}}
{{- end -}}
{{- if and $s.kueue.enabled $s.kueue.executorPodGroup (include "spark-client-app.dynamicAllocationEnabled" .) -}}
{{- fail "scheduler.kueue.executorPodGroup with dynamicAllocation.enabled: a Kueue pod group admits a fixed number of pods (executor.instances) and dynamic allocation changes it; set scheduler.kueue.executorPodGroup=false to admit each executor on its own, or dynamicAllocation.enabled=false" -}}
{{- end -}}
{{- $initial := include "spark-client-app.startingExecutors" . | int -}}
{{- $yg := $s.yunikorn.gang -}}
{{- if $yg.enabled -}}
{{- if ne $s.name "yunikorn" -}}
{{- fail (printf "scheduler.yunikorn.gang.enabled needs scheduler.name=yunikorn (it is %q): only YuniKorn reads task groups" $s.name) -}}
{{- end -}}
{{- end -}}
{{- $gang := $s.gang -}}
{{- if $gang.enabled -}}
{{- if has $s.name (list "volcano" "yunikorn") -}}
{{- fail (printf "scheduler.gang.enabled is Kubernetes' own gang scheduling, which scheduler.name=%s does not read: use %s, or leave scheduler.name empty for the default scheduler" $s.name (ternary "volcano.podGroup" "scheduler.yunikorn.gang" (eq $s.name "volcano"))) -}}
{{- end -}}
{{- $minCount := include "spark-client-app.gangSize" (dict "ctx" . "value" $gang.minCount) | int -}}
{{- if gt $minCount (max 1 $initial) -}}
{{- fail (printf "scheduler.gang.minCount (%d) is more than the %d executors Spark asks for at start: the gang would never be complete and no executor would start; lower scheduler.gang.minCount or raise executor.instances" $minCount (max 1 $initial)) -}}
{{- end -}}
{{- end -}}
{{- $m := $v.metrics -}}
{{- if $m.enabled -}}
{{- $mine := include "spark-client-app.metricsConf" . | fromJson -}}
{{- range $key, $_ := $v.sparkConf -}}
{{- if hasKey $mine $key -}}
{{- fail (printf "sparkConf.%s is set by metrics.enabled (the scrape configuration points at it): remove it, and set metrics.path, metrics.namespace, metrics.jvmSource or metrics.appStatusSource instead" $key) -}}
{{- end -}}
{{- end -}}
{{- $sparkConf := $v.sparkConf | default dict -}}
{{- if and (hasKey $sparkConf "spark.ui.enabled") (eq (include "spark-client-app.confText" (get $sparkConf "spark.ui.enabled") | lower) "false") -}}
{{- fail "metrics.enabled with sparkConf.spark.ui.enabled=false: the driver serves its metrics on the Spark UI's port; remove spark.ui.enabled=false, or set metrics.enabled=false" -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $m.scraperPeers) (ne $v.ui.service.type "NodePort") -}}
{{- fail "metrics.enabled with networkPolicy.enabled needs metrics.scraperPeers: without a peer the NetworkPolicy drops Prometheus' scrapes of the driver; set the namespace of your Prometheus there, or networkPolicy.enabled=false" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Rules of scheduled runs (schedule.cron), each value valid on its own: what a CronJob's runs cannot be.
*/}}
{{- define "spark-client-app.checkScheduleRules" -}}
{{- $v := .Values -}}
{{- if include "spark-client-app.scheduled" . -}}
{{- if include "spark-client-app.connectEnabled" . -}}
{{- fail "schedule.cron with connect.enabled: a Spark Connect server runs until it is stopped, a scheduled run ends with its application; set connect.enabled=false, or remove schedule.cron" -}}
{{- end -}}
{{- if ne (include "spark-client-app.driverRestartPolicy" .) "Never" -}}
{{- fail "schedule.cron with driver.restartPolicy OnFailure: a restarted driver container keeps its pod's name, and so its executors' names, which the failed attempt still holds; set driver.restartPolicy=Never and schedule.retries (each retry is a new pod)" -}}
{{- end -}}
{{- if $v.scheduler.kueue.enabled -}}
{{- fail "schedule.cron with scheduler.kueue.enabled: Kueue's pod integration skips a driver pod owned by a Job, so its executors would wait for an admission that never comes; remove one of them" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Rules of Spark's own connection security (security.rpc, security.ioEncryption): combinations Spark
would accept and run less safely than the values say, and values nothing would read.
*/}}
{{- define "spark-client-app.checkRpcSecurity" -}}
{{- $rpc := .Values.security.rpc -}}
{{- $auth := include "spark-client-app.rpcAuthEnabled" . -}}
{{- if and (not $auth) $rpc.encryption -}}
{{- fail "security.rpc.encryption needs security.rpc.authenticate: Spark derives the encryption keys from the authentication handshake and encrypts nothing without it; set security.rpc.authenticate=true, or security.rpc.encryption=false as well" -}}
{{- end -}}
{{- if and .Values.security.ioEncryption.enabled (not (and $auth $rpc.encryption)) -}}
{{- fail "security.ioEncryption.enabled needs security.rpc.encryption (and security.rpc.authenticate): the driver sends the disk encryption key to each executor over RPC, in clear without it; turn RPC encryption on, or set security.ioEncryption.enabled=false" -}}
{{- end -}}
{{- if and $rpc.secret $rpc.existingSecret -}}
{{- fail "security.rpc.secret and security.rpc.existingSecret are both set: the secret comes from one place; remove security.rpc.secret to use the existing Secret, or security.rpc.existingSecret to let the chart store the given secret" -}}
{{- end -}}
{{- if not $auth -}}
{{- range $key := list "secret" "existingSecret" -}}
{{- if get $rpc $key -}}
{{- fail (printf "security.rpc.%s is set but security.rpc.authenticate is false: nothing reads the secret; remove security.rpc.%s, or set security.rpc.authenticate=true" $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
