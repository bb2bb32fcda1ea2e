{{/* Names and labels shared by every template. */}}

{{- define "certsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "certsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "certsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "certsync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "certsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netscaler-certsync
{{- end }}

{{- define "certsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "certsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "certsync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The operator's Kubernetes permissions, split by where they are granted. They mirror
REQUIRED_PERMISSIONS in operator/netscaler_certsync/k8s/permissions.py; tests/chart fails when the
two differ. "namespaced" rules go into a Role per watched namespace (or the ClusterRole when all
namespaces are watched); "cluster" rules always go into the ClusterRole.
*/}}
{{- define "certsync.rules.namespaced" -}}
- apiGroups: ["netscaler.certsync.dev"]
  resources: ["netscalerconnections", "certificatesyncs"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["netscaler.certsync.dev"]
  resources: ["netscalerconnections/status", "certificatesyncs/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{- define "certsync.rules.cluster" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if .Values.watchNamespaces }}
{{- /*
kopf lists and watches namespaces only when it is NOT cluster-wide (kopf/_core/reactor/
observation.py, namespace_observer): to find which of the named namespaces exist and notice them
being deleted or re-created. Cluster-wide it never does, so that install does not get the right.
*/}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
{{- if not .Values.clusterId }}
{{- /* The cluster identity: the UID of kube-system, the one Namespace read (reconcile/identity.py). */}}
- apiGroups: [""]
  resources: ["namespaces"]
  resourceNames: ["kube-system"]
  verbs: ["get"]
{{- end }}
{{- end }}
