{{/*
Metrics: Spark's own Prometheus endpoints, served by the driver's UI (no exporter, no extra port).
  <ui.port><metrics.path>                     the driver instance's metrics (PrometheusServlet sink)
  <ui.port>/metrics/executors/prometheus      every executor's metrics, as the executors report them
                                              to the driver in their heartbeats (spark.ui.prometheus.enabled)
Executors have no UI and serve nothing: their own metrics system is not scraped.
*/}}

{{/*
The spark-defaults.conf entries of metrics.enabled as a dict (key -> value), empty when metrics are
off. _preflight.tpl refuses them in sparkConf while metrics.enabled sets them.
*/}}
{{- define "spark-client-app.metricsConf" -}}
{{- $m := .Values.metrics -}}
{{- $conf := dict -}}
{{- if $m.enabled -}}
{{- $_ := set $conf "spark.metrics.conf.driver.sink.prometheusServlet.class" "org.apache.spark.metrics.sink.PrometheusServlet" -}}
{{- $_ := set $conf "spark.metrics.conf.driver.sink.prometheusServlet.path" $m.path -}}
{{- $_ := set $conf "spark.ui.prometheus.enabled" "true" -}}
{{- $_ := set $conf "spark.metrics.namespace" $m.namespace -}}
{{- if $m.jvmSource }}{{ $_ := set $conf "spark.metrics.conf.driver.source.jvm.class" "org.apache.spark.metrics.source.JvmSource" }}{{ end -}}
{{- if $m.appStatusSource }}{{ $_ := set $conf "spark.metrics.appStatusSource.enabled" "true" }}{{ end -}}
{{- end -}}
{{- toJson $conf -}}
{{- end -}}

{{/*
The URL paths to scrape (metrics.enabled), as a JSON list: the driver's, then the executors'. The
driver's servlet is a Jetty context at metrics.path, which answers a request without the trailing
slash with a redirect (301) that, with spark.ui.proxyBase set, points under the Ingress path: a
scrape from the pod IP must ask for `<metrics.path>/` (the real Spark test, test_metrics_spark.py).
*/}}
{{- define "spark-client-app.metricsPaths" -}}
{{- toJson (list (include "spark-client-app.driverMetricsScrapePath" .) "/metrics/executors/prometheus") -}}
{{- end -}}

{{/* The driver's metrics as a scraper asks for them: metrics.path with its trailing slash. */}}
{{- define "spark-client-app.driverMetricsScrapePath" -}}
{{- printf "%s/" (trimSuffix "/" (toString .Values.metrics.path)) -}}
{{- end -}}
