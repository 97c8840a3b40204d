package io.wiremesh.node.mesh;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * What {@link NodeReconciler} acts through: on a node, {@link NodeDatapaths}, {@link MeshRouting},
 * {@link NodeEgress}, {@link MemberStatus} and {@link NodeKey#rotate}; in tests, memory.
 */
public final class NodePorts {
    private NodePorts() {}

    /** Which WireGuard implementation drives the interface ({@link io.wiremesh.node.wg.Datapaths} on a node). */
    public interface DatapathPort {
        /** The device for {@code wanted} on this node; {@link io.wiremesh.node.wg.Datapaths.Unavailable} when it cannot be had. */
        WireGuardDevice choose(Datapath wanted) throws IOException;

        /** Makes the interface's name ready for {@code device}'s implementation; true when another's interface was removed. */
        boolean takeOver(WireGuardDevice device) throws IOException;

        /** Records {@code device}'s implementation as the interface's owner (the chart's datapath container follows it). */
        void recordOwner(WireGuardDevice device) throws IOException;

        /**
         * Says that the datapath hangs ({@code reason}: why; at every pass that meets it) or no longer does ({@code reason}
         * null: after a hang, and at the first pass), for its liveness probe ({@link io.wiremesh.wireguard.uapi.UnresponsiveMark}).
         */
        default void unresponsive(String reason) throws IOException {}
    }

    /** The node's routes into the mesh ({@link MeshRouting} on a node). */
    public interface RoutePort {
        /** Routes exactly {@code blocks} through the interface. */
        void route(Set<Cidr> blocks) throws IOException;

        /** Unreachable routes for exactly {@code pools}. */
        void failClosed(List<Cidr> pools) throws IOException;

        /** Addresses, MTU and link state of the interface. */
        void setUp(List<String> overlayAddresses, int mtu, List<Cidr> pools) throws IOException;

        /** The source address of the routes into the mesh (none: the kernel's choice). */
        void preferSource(List<String> nodeAddresses) throws IOException;
    }

    /** Egress rules ({@link NodeEgress} on a node). */
    public interface EgressPort {
        /** @return true when the nftables table was rewritten */
        boolean apply(EgressPlan plan) throws IOException;

        /** The next {@link #apply} compares with the kernel again. */
        void reassert();
    }

    /** This node's WireGuardNode status ({@link MemberStatus} on a node). */
    public interface StatusPort {
        /** The key to publish from now on: its public half, the generation it answers, when it was made. */
        void key(String publicKey, long generation, Instant created);

        /** Writes the proposal, port, datapath, observed generation and the Ready condition. */
        void publish(boolean ready, String reason, String message, int listenPort, String datapath, Long observedMeshGeneration);
    }

    /** Makes and stores the key of a generation ({@link NodeKey#rotate}). */
    public interface KeyStore {
        NodeKey rotate(long generation) throws IOException;
    }
}
