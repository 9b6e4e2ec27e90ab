{{/*
Names: the app-name and the name of every object the chart renders (one helper per object, so a
name is written once). Nothing here is random or reads the cluster.

Length rule: the app-name is a DNS-1035 label of at most 47 characters (Spark's limit for
spark.kubernetes.executor.podNamePrefix; checked once per render by spark-client-app.checkAppName
in _preflight.tpl). Every object name is <app>-<suffix> with a suffix of at most 16 characters
including the dash, so every name is at most 63 characters and nothing needs truncating.
The longest suffixes today are "-driver-netpol" and "-connect-route" (14). A new object keeps its suffix within 16;
tests/test_chart_names.py checks both the rule and this comment.

One name is shorter on purpose: the CronJob of a scheduled app (spark-client-app.cronJobName). Its runs'
driver pods are named <cronjob>-<minutes since 1970, 8 digits>-<5 random characters> by the CronJob and Job
controllers, and that pod name is each run's executor name prefix (47 characters at most), so the CronJob
name has at most 32: <app>-cron up to 27-character app-names, else the app-name cut to 20 characters, 6 hex
characters of its SHA-256 (two long names with one beginning stay apart) and -cron.
*/}}

{{/* The app-name (string): nameOverride, else the release name. */}}
{{- define "spark-client-app.appName" -}}
{{- .Values.nameOverride | default .Release.Name -}}
{{- end -}}

{{/* Name of the driver Pod (also spark.kubernetes.driver.pod.name): <app>-driver. */}}
{{- define "spark-client-app.driverPodName" -}}
{{- include "spark-client-app.appName" . }}-driver
{{- end -}}

{{/* Name of the driver's headless Service (spark.driver.host): <app>-driver-svc. */}}
{{- define "spark-client-app.driverServiceName" -}}
{{- include "spark-client-app.appName" . }}-driver-svc
{{- end -}}

{{/* Name of the Spark UI Service: <app>-ui-svc. */}}
{{- define "spark-client-app.uiServiceName" -}}
{{- include "spark-client-app.appName" . }}-ui-svc
{{- end -}}

{{/* Name of the Spark UI Ingress: <app>-ui-ingress. */}}
{{- define "spark-client-app.uiIngressName" -}}
{{- include "spark-client-app.appName" . }}-ui-ingress
{{- end -}}

{{/* Name of the default TLS Secret of the UI Ingress (ui.ingress.tls without secretName): <app>-ui-tls. */}}
{{- define "spark-client-app.uiTlsSecretName" -}}
{{- include "spark-client-app.appName" . }}-ui-tls
{{- end -}}

{{/* Name of the Gateway API HTTPRoute of the Spark UI (ui.httpRoute): <app>-ui-route. */}}
{{- define "spark-client-app.uiRouteName" -}}
{{- include "spark-client-app.appName" . }}-ui-route
{{- end -}}

{{/* Name of the Service of the Spark Connect server (connect.enabled): <app>-connect-svc. */}}
{{- define "spark-client-app.connectServiceName" -}}
{{- include "spark-client-app.appName" . }}-connect-svc
{{- end -}}

{{/* Name of the Gateway API GRPCRoute of the Spark Connect server (connect.grpcRoute): <app>-connect-route. */}}
{{- define "spark-client-app.connectRouteName" -}}
{{- include "spark-client-app.appName" . }}-connect-route
{{- end -}}

{{/* Name of the ConfigMap with spark-defaults.conf, spark-env.sh and the executor pod template: <app>-cm. */}}
{{- define "spark-client-app.configMapName" -}}
{{- include "spark-client-app.appName" . }}-cm
{{- end -}}

{{/*
Name of the Secret with the shared secret of Spark's RPC authentication (security.rpc, unless
security.rpc.existingSecret names one): <app>-rpc-secret.
*/}}
{{- define "spark-client-app.rpcSecretName" -}}
{{- include "spark-client-app.appName" . }}-rpc-secret
{{- end -}}

{{/* Name of the Volcano PodGroup: <app>-podgroup. */}}
{{- define "spark-client-app.podGroupName" -}}
{{- include "spark-client-app.appName" . }}-podgroup
{{- end -}}

{{/* Name of the driver's NetworkPolicy: <app>-driver-netpol. */}}
{{- define "spark-client-app.driverNetworkPolicyName" -}}
{{- include "spark-client-app.appName" . }}-driver-netpol
{{- end -}}

{{/* Name of the executors' NetworkPolicy: <app>-exec-netpol. */}}
{{- define "spark-client-app.executorNetworkPolicyName" -}}
{{- include "spark-client-app.appName" . }}-exec-netpol
{{- end -}}

{{/* Name of the driver's Role: <app>-driver. */}}
{{- define "spark-client-app.driverRoleName" -}}
{{- include "spark-client-app.appName" . }}-driver
{{- end -}}

{{/* Name of the RoleBinding of the driver's Role to its ServiceAccount: <app>-driver. */}}
{{- define "spark-client-app.driverRoleBindingName" -}}
{{- include "spark-client-app.appName" . }}-driver
{{- end -}}

{{/* Name of the driver's ServiceAccount: serviceAccount.name, else <app>-driver when created, else the namespace's "default". */}}
{{- define "spark-client-app.driverServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (printf "%s-driver" (include "spark-client-app.appName" .)) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Name of the executors' ServiceAccount: executor.serviceAccount.name, else <app>-executor when created, else "default". */}}
{{- define "spark-client-app.executorServiceAccountName" -}}
{{- $sa := .Values.executor.serviceAccount -}}
{{- if $sa.create -}}
{{- $sa.name | default (printf "%s-executor" (include "spark-client-app.appName" .)) -}}
{{- else -}}
{{- $sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Name of the Prometheus Operator PodMonitor of the driver's metrics: <app>-metrics. */}}
{{- define "spark-client-app.podMonitorName" -}}
{{- include "spark-client-app.appName" . }}-metrics
{{- end -}}

{{/*
Name of the executors' scheduling group: <app>-executors. It names the native Kubernetes PodGroup
(scheduling.k8s.io v1alpha2 and later) or Workload (v1alpha1) of scheduler.gang, and the Kueue pod
group of scheduler.kueue (the Workload object Kueue creates for the group takes this name).
*/}}
{{- define "spark-client-app.executorGroupName" -}}
{{- include "spark-client-app.appName" . }}-executors
{{- end -}}


{{/*
Name of the CronJob of a scheduled app (schedule.cron): <app>-cron, or <first 20 characters of app>-<6 hex of
sha256(app)>-cron for app-names longer than 27, so that every run's driver pod name fits 47 characters (see above).
*/}}
{{- define "spark-client-app.cronJobName" -}}
{{- $app := include "spark-client-app.appName" . -}}
{{- if le (len $app) 27 -}}
{{- printf "%s-cron" $app -}}
{{- else -}}
{{- printf "%s-%s-cron" (trunc 20 $app | trimAll "-") (sha256sum $app | trunc 6) -}}
{{- end -}}
{{- end -}}
