# The local cluster's DNS: wiremesh's own small server (cluster-dns/, image localhost/wiremesh/cluster-dns) as
# kube-system/kube-dns at $WML_DNS_IP, the address the kubelets give pods (--cluster-dns), serving the zone
# $WML_CLUSTER_DOMAIN as the Kubernetes DNS specification defines it (kind and k3s ship CoreDNS for this).
# It runs as an ordinary pod on the pod network and reaches the API server through the kubernetes Service.
# Names outside the zone go to WIREMESH_LOCAL_DNS_UPSTREAM (IP[:PORT]) when set; without it they get SERVFAIL
# (the local cluster's outside world has no DNS server). Sourced by bin/wiremesh-local.

WML_DNS_DEPLOYMENT=cluster-dns

wml_dns_version() { sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$WML_ROOT/charts/wiremesh/Chart.yaml"; }
wml_dns_sa_token() { [ -n "$(wml_kubectl -n kube-system get serviceaccount "$WML_DNS_DEPLOYMENT" -o jsonpath='{.secrets[0].name}' 2>/dev/null)" ]; }

# wml_cluster_dns_up: ServiceAccount, RBAC, Service kube-dns and the Deployment in kube-system; waits until it is available.
wml_cluster_dns_up() {
  local version upstream="" t0=$SECONDS
  version=$(wml_dns_version)
  [ -n "${WIREMESH_LOCAL_DNS_UPSTREAM:-}" ] && upstream="--upstream=$WIREMESH_LOCAL_DNS_UPSTREAM"
  wml_log "cluster DNS: kube-system/kube-dns at $WML_DNS_IP (zone $WML_CLUSTER_DOMAIN, other names: ${WIREMESH_LOCAL_DNS_UPSTREAM:-SERVFAIL})"
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: $WML_DNS_DEPLOYMENT, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "wiremesh:cluster-dns"}
rules: [{apiGroups: [""], resources: [services, endpoints], verbs: [list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "wiremesh:cluster-dns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "wiremesh:cluster-dns"}
subjects: [{kind: ServiceAccount, name: $WML_DNS_DEPLOYMENT, namespace: kube-system}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: wiremesh-cluster-dns}
spec:
  clusterIP: $WML_DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: dns}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: dns-tcp}
    - {name: metrics, port: 8080, protocol: TCP, targetPort: http}
EOF
  # Kubernetes 1.20 admits a pod that mounts a token only once the token Secret exists.
  wml_wait 60 "the token of ServiceAccount kube-system/$WML_DNS_DEPLOYMENT" wml_dns_sa_token
  # Not root, no capability: it listens on 1053 and the Service maps 53 there.
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $WML_DNS_DEPLOYMENT
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: $WML_DNS_DEPLOYMENT
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      terminationGracePeriodSeconds: 5
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}
      containers:
        - name: dns
          image: "localhost/wiremesh/cluster-dns:$version"
          imagePullPolicy: Never
          args: [--listen=0.0.0.0:1053, --cluster-domain=$WML_CLUSTER_DOMAIN, --http-port=8080${upstream:+, $upstream}]
          ports:
            - {name: dns, containerPort: 1053, protocol: UDP}
            - {name: dns-tcp, containerPort: 1053, protocol: TCP}
            - {name: http, containerPort: 8080, protocol: TCP}
          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 2, failureThreshold: 3}
          livenessProbe: {httpGet: {path: /health, port: http}, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 5}
          resources:
            requests: {cpu: 50m, memory: 96Mi}
            limits: {cpu: "1", memory: 192Mi}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
EOF
  if ! wml_kubectl -n kube-system rollout status "deployment/$WML_DNS_DEPLOYMENT" --timeout=180s >/dev/null 2>&1; then
    wml_kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide >&2 || true
    wml_kubectl -n kube-system logs "deployment/$WML_DNS_DEPLOYMENT" --tail=20 >&2 || true
    wml_die "the cluster DNS (kube-system/$WML_DNS_DEPLOYMENT) is not available after 180 s"
  fi
  wml_log "cluster DNS available in $((SECONDS - t0)) s"
}
