package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What an edit of a WireGuardMesh changes for a node-daemon that is already running, by what it
 * takes to apply: a rebind of the WireGuard port, a new interface MTU, the peers' keepalive, the
 * fail-closed pools and their routes, the egress rules, the WireGuard implementation, or the preshared-key exchange. Fields that
 * only the operator uses (nodeSelector, nodeBlockSize) are not node changes. Pure.
 */
public enum MeshChange {
    /** spec.listenPort ({@link WireGuardMeshSpec#DEFAULT_LISTEN_PORT}): rebind; the new endpoint is published, peers follow it. */
    LISTEN_PORT,
    /** spec.mtu (unset: the underlay's MTU less the WireGuard overhead): the interface and new pods. */
    MTU,
    /** spec.persistentKeepalive: every node peer. */
    PERSISTENT_KEEPALIVE,
    /** spec.podCIDRs or spec.peerCIDRs: fail-closed routes, AllowedIPs and routes of the pools. */
    POOLS,
    /** spec.egress: the masquerade table. */
    EGRESS,
    /** spec.datapath: kernel module or userspace process. */
    DATAPATH,
    /** spec.presharedKeys: the post-quantum exchange on or off, its interval. */
    PRESHARED_KEYS;

    /** The node-side changes from {@code before} to {@code after}; empty when none. */
    public static Set<MeshChange> between(WireGuardMeshSpec before, WireGuardMeshSpec after) {
        Set<MeshChange> out = EnumSet.noneOf(MeshChange.class);
        if (before.listenPortOrDefault() != after.listenPortOrDefault()) out.add(LISTEN_PORT);
        if (!Objects.equals(before.mtu, after.mtu)) out.add(MTU);
        if (before.persistentKeepaliveOrDefault() != after.persistentKeepaliveOrDefault()) out.add(PERSISTENT_KEEPALIVE);
        if (!Objects.equals(before.podCIDRs, after.podCIDRs) || !Objects.equals(list(before.peerCIDRs), list(after.peerCIDRs))) out.add(POOLS);
        if (before.masquerade() != after.masquerade() || !Objects.equals(before.egressExcludeCIDRs(), after.egressExcludeCIDRs())) out.add(EGRESS);
        if (before.datapathOrDefault() != after.datapathOrDefault()) out.add(DATAPATH);
        if (before.presharedKeysEnabled() != after.presharedKeysEnabled() || !before.presharedKeyInterval().equals(after.presharedKeyInterval())) {
            out.add(PRESHARED_KEYS);
        }
        return out;
    }

    private static java.util.List<String> list(java.util.List<String> l) {
        return l == null ? java.util.List.of() : l;
    }
}
