package io.wiremesh.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.wiremesh.api.crd.ColumnOrder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One node's membership in one mesh, named {@code <mesh>.<node>} and owned by the mesh. The operator
 * writes the spec (address block, overlay address, key generation, and the keys, endpoints and
 * identity it accepted); the node-daemon writes the status (its signed proposal of keys and endpoints,
 * datapath), and the operator the status' Degraded condition when it does not accept the proposal. Each node-daemon watches its mesh's WireGuardNodes by label, so
 * a join or leave is one small watch event per node, and no object holds an N x N peer list.
 */
@ColumnOrder({"NODE", "BLOCK", "PUBLICKEY", "READY", "PROPOSAL", "PQ-PSK", "PSK-STALE", "OLDEST-PSK"})
@Group(WireGuardMesh.GROUP)
@Version(WireGuardMesh.VERSION)
@ShortNames("wgnode")
@Plural("wireguardnodes")
@AdditionalPrinterColumn(name = "NODE", jsonPath = ".spec.nodeName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "BLOCK", jsonPath = ".spec.podCIDRs", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "PUBLICKEY", jsonPath = ".spec.publicKey", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "READY", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "PROPOSAL", jsonPath = ".status.conditions[?(@.type==\"Degraded\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "PQ-PSK", jsonPath = ".status.presharedKeys.peers", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "PSK-STALE", jsonPath = ".status.presharedKeys.stale", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "OLDEST-PSK", jsonPath = ".status.presharedKeys.oldestKeyTime", type = AdditionalPrinterColumn.Type.DATE)
public class WireGuardNode extends CustomResource<WireGuardNodeSpec, WireGuardNodeStatus> {
    /** Label on every WireGuardNode (and WireGuardPeer): the mesh it belongs to. */
    public static final String MESH_LABEL = "wiremesh.io/mesh";
    /** Label: the Kubernetes node it describes. */
    public static final String NODE_LABEL = "wiremesh.io/node";
    /** Annotation: when the node stopped being selected (RFC 3339); removed if it comes back in time. */
    public static final String ORPHANED_SINCE = "wiremesh.io/orphaned-since";

    /**
     * Annotation an admin sets (or {@code wiremesh node approve}) to accept a node's new identity whose
     * fingerprint ({@link io.wiremesh.api.identity.Proposal#fingerprint}) it names; the operator removes it once used.
     */
    public static final String APPROVED_IDENTITY = "wiremesh.io/approved-identity";

    public static String nameFor(String mesh, String node) {
        return mesh + "." + node;
    }
}
