{{/*
The Spark UI: how it is exposed (path or host mode Ingress, TLS; path or host mode Gateway API
HTTPRoute), shared by the Ingress, the HTTPRoute, the Spark configuration (spark.ui.proxyBase,
spark.ui.proxyRedirectUri) and NOTES.txt.
*/}}

{{/* "true" when the UI is served under a path prefix through the Ingress or the HTTPRoute, else empty. */}}
{{- define "spark-client-app.uiPathMode" -}}
{{- if or (and .Values.ui.ingress.enabled (eq .Values.ui.ingress.mode "path")) (include "spark-client-app.uiRoutePathMode" .) }}true{{ end -}}
{{- end -}}

{{/* "true" when the HTTPRoute serves the UI under a path prefix (ui.httpRoute.mode path), else empty. */}}
{{- define "spark-client-app.uiRoutePathMode" -}}
{{- $route := .Values.ui.httpRoute | default dict -}}
{{- if and $route.enabled (eq ($route.mode | default "path") "path") }}true{{ end -}}
{{- end -}}

{{/*
The path prefix of the UI in path mode, also spark.ui.proxyBase: ui.ingress.path when the Ingress
serves the UI under a path, else ui.httpRoute.path when the HTTPRoute does, and /<app> when that is
empty. With both in path mode _preflight.tpl makes them equal: Spark has one proxyBase.
*/}}
{{- define "spark-client-app.uiPath" -}}
{{- $path := .Values.ui.ingress.path -}}
{{- if and (include "spark-client-app.uiRoutePathMode" .) (not (and .Values.ui.ingress.enabled (eq .Values.ui.ingress.mode "path"))) -}}
{{- $path = .Values.ui.httpRoute.path -}}
{{- end -}}
{{- $path | default (printf "/%s" (include "spark-client-app.appName" .)) -}}
{{- end -}}

{{/* The host name of the HTTPRoute in host mode: <app>.<ui.httpRoute.domain>. */}}
{{- define "spark-client-app.uiRouteHost" -}}
{{- printf "%s.%s" (include "spark-client-app.appName" .) .Values.ui.httpRoute.domain -}}
{{- end -}}

{{/*
The host name of the UI Ingress: <app>.<domain> in host mode (ui.ingress.domain, else
ui.ingress.host; _preflight.tpl refuses host mode with neither), ui.ingress.host (maybe empty) in
path mode.
*/}}
{{- define "spark-client-app.uiHost" -}}
{{- $ing := .Values.ui.ingress -}}
{{- if eq $ing.mode "host" -}}
{{- printf "%s.%s" (include "spark-client-app.appName" .) ($ing.domain | default $ing.host) -}}
{{- else -}}
{{- $ing.host -}}
{{- end -}}
{{- end -}}

{{/*
The TLS entries of the UI Ingress as a YAML list (empty when TLS is off), from ui.ingress.tls in
any of its forms: true, {enabled, secretName}, or a list of Ingress TLS entries (hosts default to
the UI host).
*/}}
{{- define "spark-client-app.uiTlsEntries" -}}
{{- $tls := .Values.ui.ingress.tls -}}
{{- $host := include "spark-client-app.uiHost" . -}}
{{- if kindIs "bool" $tls }}{{ $tls = dict "enabled" $tls }}{{ end -}}
{{- if kindIs "map" $tls -}}
{{- $tls = ternary (list (dict "secretName" ($tls.secretName | default (include "spark-client-app.uiTlsSecretName" .)))) list $tls.enabled -}}
{{- end -}}
{{- $entries := list -}}
{{- range $tls -}}
{{- $entry := deepCopy . -}}
{{- if and (not $entry.hosts) $host }}{{ $_ := set $entry "hosts" (list $host) }}{{ end -}}
{{- $entries = append $entries $entry -}}
{{- end -}}
{{- if $entries }}{{ toYaml $entries }}{{ end -}}
{{- end -}}

{{/* The scheme of the UI's public URL: "https" when the Ingress has TLS, else "http". */}}
{{- define "spark-client-app.uiScheme" -}}
{{- ternary "https" "http" (ne (include "spark-client-app.uiTlsEntries" .) "") -}}
{{- end -}}
