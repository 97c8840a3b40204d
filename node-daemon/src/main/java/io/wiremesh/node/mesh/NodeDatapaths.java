package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;

/** The datapath port of {@link NodeReconciler} on a real node: {@link Datapaths} for one interface name. */
final class NodeDatapaths implements NodePorts.DatapathPort {
    private final String ifname;

    NodeDatapaths(String ifname) {
        this.ifname = ifname;
    }

    @Override
    public WireGuardDevice choose(Datapath wanted) throws IOException {
        return Datapaths.choose(wanted, ifname);
    }

    @Override
    public boolean takeOver(WireGuardDevice device) throws IOException {
        return Datapaths.takeOver(device, ifname, Datapaths.UAPI_DIR);
    }

    @Override
    public void recordOwner(WireGuardDevice device) throws IOException {
        Datapaths.owner(device).record(Datapaths.UAPI_DIR, ifname);
    }

    @Override
    public void unresponsive(String reason) throws IOException {
        if (reason == null) io.wiremesh.wireguard.uapi.UnresponsiveMark.clear(Datapaths.UAPI_DIR, ifname);
        else io.wiremesh.wireguard.uapi.UnresponsiveMark.mark(Datapaths.UAPI_DIR, ifname, reason);
    }
}
