# Sourced by the bench scripts that run on the local cluster (bin/wiremesh-local): brings a 2-node cluster with one
# test pod per node up unless one is running, and at exit takes it down again (if it brought it up) or puts the
# chart back to its defaults (if the cluster was there before).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/local/common.sh"
LOCAL="$ROOT/bin/wiremesh-local"
owned=
if [ ! -f "$WML_DIR/admin.kubeconfig" ]; then
  owned=1
  "$LOCAL" up --nodes 2 --pods 1 >/dev/null
fi
release_cluster() {
  if [ -n "$owned" ]; then "$LOCAL" down >/dev/null 2>&1 || true; else "$LOCAL" upgrade >/dev/null 2>&1 || true; fi
}
