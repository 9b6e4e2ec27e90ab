{{/*
Exactly what `sparkhelm gc` does through the API server, as RBAC rules:
  find apps:     list driver pods, ConfigMaps and CronJobs by label (an app without its driver pod is orphaned;
                 an app with a CronJob is a schedule, never collected: its runs are deleted by their Jobs'
                 ttlSecondsAfterFinished and the CronJob's history limits);
  sweep:         list, by the chart's labels, and delete every kind spark-client-app renders
                 (tests/test_gc_chart.py holds this list against sparkhelm.kube.resources.CHART_KINDS);
  uninstall:     Helm reads the release records (Secrets labelled owner=helm: get, list), marks the
                 release as uninstalling (update), deletes the release's objects, then the records.
No create, no watch, no escalate/bind/impersonate, no wildcards. RBAC cannot narrow Secrets to
Helm's by label: these verbs reach every Secret of the namespaces collected in.
*/}}
{{- define "spark-gc.rules" -}}
- apiGroups: [""]
  resources: ["pods", "configmaps", "services", "serviceaccounts"]
  verbs: ["list", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "update", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs", "jobs"]
  verbs: ["list", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["list", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses", "networkpolicies"]
  verbs: ["list", "delete"]
- apiGroups: ["scheduling.volcano.sh"]
  resources: ["podgroups"]
  verbs: ["list", "delete"]
- apiGroups: ["scheduling.k8s.io"]
  resources: ["podgroups", "workloads"]
  verbs: ["list", "delete"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes", "grpcroutes"]
  verbs: ["list", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["podmonitors"]
  verbs: ["list", "delete"]
{{- end -}}
