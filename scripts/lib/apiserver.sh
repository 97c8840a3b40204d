# Shell helpers: a real kube-apiserver 1.20.2 + etcd on loopback, with the wiremesh CRDs, for bench/ scripts.
# Sourced; needs scripts/install-deps.sh (it builds kube-apiserver). The caller kills WM_API_PIDS on exit.
#   wm_apiserver DIR PORT ETCD_PORT   -> DIR/kubeconfig (token auth, system:masters), API=https://127.0.0.1:PORT
#   wm_k CURL-ARGS...                 -> curl against it with the token
WM_API_PIDS=()
WM_API_TOKEN=wm-bench-token

wm_k() { curl -sS -k -H "Authorization: Bearer $WM_API_TOKEN" "$@"; }

wm_apiserver() {
  local w="$1" port="$2" etcd="$3" root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  bin="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}/k8s-1.20.2/bin"
  [ -x "$bin/kube-apiserver" ] || { echo "run scripts/install-deps.sh first (builds kube-apiserver)" >&2; return 1; }
  API="https://127.0.0.1:$port"
  openssl genrsa -out "$w/sa.key" 2048 2>/dev/null; openssl rsa -in "$w/sa.key" -pubout -out "$w/sa.pub" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=wm-bench -keyout "$w/api.key" -out "$w/api.crt" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
  echo "$WM_API_TOKEN,wm-admin,1000,system:masters" >"$w/tokens.csv"
  etcd --name wm-bench --data-dir "$w/etcd" --listen-client-urls "http://127.0.0.1:$etcd" --advertise-client-urls "http://127.0.0.1:$etcd" \
    --listen-peer-urls "http://127.0.0.1:$((etcd + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd + 10))" \
    --initial-cluster "wm-bench=http://127.0.0.1:$((etcd + 10))" >"$w/etcd.log" 2>&1 & WM_API_PIDS+=("$!")
  "$bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd" --bind-address=127.0.0.1 --secure-port="$port" \
    --tls-cert-file="$w/api.crt" --tls-private-key-file="$w/api.key" --token-auth-file="$w/tokens.csv" \
    --authorization-mode=RBAC --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$w/sa.pub" \
    --service-account-signing-key-file="$w/sa.key" --service-cluster-ip-range=10.96.0.0/16 --advertise-address=127.0.0.1 \
    --disable-admission-plugins=ServiceAccount >"$w/apiserver.log" 2>&1 & WM_API_PIDS+=("$!")
  local ok=""
  for _ in $(seq 120); do wm_k "$API/readyz" 2>/dev/null | grep -q ok && { ok=1; break; }; sleep 0.5; done
  [ -n "$ok" ] || { echo "kube-apiserver did not become ready:" >&2; tail -20 "$w/apiserver.log" >&2; return 1; }
  for f in "$root"/crds/*.yml; do wm_k -X POST -H "Content-Type: application/yaml" --data-binary @"$f" \
    "$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null; done
  sleep 2
  cat >"$w/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: "$API", certificate-authority: "$w/api.crt"}}]
users: [{name: bench, user: {token: $WM_API_TOKEN}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
KC
}
