{{/* The installer image: REPOSITORY@DIGEST when a digest is given, else REPOSITORY:TAG. */}}
{{- define "reaper.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* /etc/reaper/reaper.conf, from reaperConf (null values left out). Its checksum is an
     annotation of the installer's pod template: a change rolls the installer out. */}}
{{- define "reaper.nodeConfig" -}}
# Written by reaper's installer from the ConfigMap reaper-node-config.
{{- range $key, $value := .Values.reaperConf }}
{{- if ne (toJson $value) "null" }}
{{ $key }}={{ $value }}
{{- end }}
{{- end }}
{{- end }}

{{/* The verb of install.sh; anything but install or uninstall stops the release. */}}
{{- define "reaper.mode" -}}
{{- if or (eq .Values.mode "install") (eq .Values.mode "uninstall") -}}
{{ .Values.mode }}
{{- else -}}
{{ fail "mode must be install or uninstall" }}
{{- end -}}
{{- end }}
