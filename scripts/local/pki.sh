# Certificates, tokens and kubeconfigs of the local cluster (openssl; made once per cluster). Sourced.

# wml_kubeconfig FILE SERVER TOKEN
wml_kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: wiremesh-local
  cluster: {server: "$2", certificate-authority: "$WML_DIR/pki/ca.crt"}
users:
- name: user
  user: {token: "$3"}
contexts:
- name: wiremesh-local
  context: {cluster: wiremesh-local, user: user}
current-context: wiremesh-local
EOF
  chmod 600 "$1"
}

wml_token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

wml_pki() {
  local p="$WML_DIR/pki"
  [ -f "$p/.complete" ] && return 0
  rm -rf "$p"; mkdir -p "$p"; chmod 700 "$p"
  local o=(openssl req -nodes -newkey rsa:2048 -sha256)
  "${o[@]}" -x509 -days 30 -keyout "$p/ca.key" -out "$p/ca.crt" -subj /CN=wiremesh-local-ca 2>/dev/null
  # Serving certificate: valid for the underlay address, the root-namespace hop and the kubernetes Service.
  "${o[@]}" -keyout "$p/apiserver.key" -out "$p/apiserver.csr" -subj /CN=kube-apiserver 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:%s,IP:%s,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' \
    "$WML_UL_IP" "$WML_SERVICE_IP" >"$p/apiserver.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 30 \
    -extfile "$p/apiserver.ext" -out "$p/apiserver.crt" 2>/dev/null
  # The apiserver's client certificate towards kubelets (logs, exec).
  "${o[@]}" -keyout "$p/kubelet-client.key" -out "$p/kubelet-client.csr" -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
  openssl x509 -req -in "$p/kubelet-client.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 30 -out "$p/kubelet-client.crt" 2>/dev/null
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null

  # Static tokens: admin, controller-manager, scheduler, kube-proxy and up to 9 kubelets.
  local admin cm sched proxy i
  admin=$(wml_token); cm=$(wml_token); sched=$(wml_token); proxy=$(wml_token)
  {
    echo "$admin,wiremesh-local-admin,1000,system:masters"
    echo "$cm,system:kube-controller-manager,1001,system:masters"
    echo "$sched,system:kube-scheduler,1002"
    echo "$proxy,system:kube-proxy,1003,system:node-proxier"
  } >"$p/tokens.csv"
  for i in $(seq 1 9); do
    local t; t=$(wml_token)
    echo "$t,system:node:wml-n$i,$((2000 + i)),system:masters" >>"$p/tokens.csv"
    wml_kubeconfig "$p/kubelet-n$i.kubeconfig" "$WML_API" "$t"
  done
  wml_kubeconfig "$WML_DIR/admin.kubeconfig" "https://127.0.0.1:$WML_LOCAL_API_PORT" "$admin"
  wml_kubeconfig "$p/admin-ul.kubeconfig" "$WML_API" "$admin"
  wml_kubeconfig "$p/controller-manager.kubeconfig" "$WML_API" "$cm"
  wml_kubeconfig "$p/scheduler.kubeconfig" "$WML_API" "$sched"
  wml_kubeconfig "$p/kube-proxy.kubeconfig" "$WML_API" "$proxy"
  chmod 600 "$p"/*
  touch "$p/.complete"
}
