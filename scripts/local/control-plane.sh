# The control plane joins the mesh as an external WireGuard peer. Sourced by bin/wiremesh-local.
# The API server runs in the underlay namespace, outside every node, yet reaches pods (its proxy to pods and
# services, port-forward, admission webhooks in pods), as on a control-plane node that runs the CNI: a
# WireGuardPeer "control-plane" made with `bin/wiremesh peer add`, its key kept in $WML_DIR/peers, and a
# WireGuard interface wml-cp in $WML_UL (Debian's wireguard-go) configured from the printed wg-quick config.
# Pod traffic from and to the API server is encrypted like any other; nothing is added to the root namespace.
WML_PEER_CIDR=10.45.0.0/24     # the mesh's peer pool (defaultMesh.peerCIDRs)
WML_CP_IF=wml-cp

wml_cli() {
  "$WML_ROOT/bin/wiremesh" --help >/dev/null 2>&1 || wml_die "bin/wiremesh does not run: JAVA_HOME=$JAVA_HOME mvn -B package -DskipTests"
  KUBECONFIG="$WML_DIR/admin.kubeconfig" "$WML_ROOT/bin/wiremesh" "$@"
}

# wml_control_plane_peer_up: the peer, its interface and its route to the pod pool.
wml_control_plane_peer_up() {
  local t0=$SECONDS cfg="$WML_DIR/peers/control-plane.conf" ul=(nsenter --net="/run/netns/$WML_UL")
  mkdir -p "$WML_DIR/peers"; chmod 700 "$WML_DIR/peers"
  if [ ! -s "$cfg" ]; then
    wml_cli peer --dir "$WML_DIR/peers" add control-plane --mesh default --timeout PT120S >"$cfg.out" 2>"$WML_DIR/log/peer-add.log" \
      || wml_die "wiremesh peer add control-plane failed: $(tail -3 "$WML_DIR/log/peer-add.log")"
    # The printed config ends where the QR code begins.
    awk '/^\[Interface\]/ {on = 1} on && /^[^[A-Za-z#]/ && !/^$/ {exit} on' "$cfg.out" >"$cfg"
    rm -f "$cfg.out"
  fi
  local address; address=$(sed -n 's/^Address *= *//p' "$cfg" | cut -d, -f1)
  [ -n "$address" ] || wml_die "no Address in $cfg"
  wml_alive wireguard-go-cp || WG_PROCESS_FOREGROUND=1 wml_start wireguard-go-cp "${ul[@]}" wireguard-go -f "$WML_CP_IF"
  wml_wait 15 "the control plane's WireGuard interface" test -S "/var/run/wireguard/$WML_CP_IF.sock"
  # wg takes the config without wg-quick's own keys (Address, DNS, MTU, ...).
  grep -vE '^(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig) *=' "$cfg" | "${ul[@]}" wg setconf "$WML_CP_IF" /dev/stdin
  "${ul[@]}" ip addr replace "$address" dev "$WML_CP_IF"
  "${ul[@]}" ip link set "$WML_CP_IF" up
  "${ul[@]}" ip route replace "$WML_POD_CIDR" dev "$WML_CP_IF"
  wml_log "control plane joined the mesh as peer control-plane ($address) in $((SECONDS - t0)) s"
}

wml_control_plane_peer_down() {
  wml_stop wireguard-go-cp
  nsenter --net="/run/netns/$WML_UL" ip link del "$WML_CP_IF" 2>/dev/null || true
  rm -f "/var/run/wireguard/$WML_CP_IF.sock"
}
