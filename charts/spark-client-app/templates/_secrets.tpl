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
