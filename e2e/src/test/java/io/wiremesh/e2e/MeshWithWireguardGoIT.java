package io.wiremesh.e2e;

/**
 * The same mesh with Debian's wireguard-go as node 2's datapath: the node-daemon drives any
 * userspace WireGuard over the UAPI, and the Java datapath interoperates with it inside the mesh.
 */
class MeshWithWireguardGoIT extends MeshIT {
    @Override
    protected String datapathCommand(int i) {
        return i == 1 ? "wireguard-go" : super.datapathCommand(i);
    }
}
