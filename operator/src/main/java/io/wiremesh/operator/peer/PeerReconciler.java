package io.wiremesh.operator.peer;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.net.ExternalEndpoint;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import io.wiremesh.operator.Conditions;
import io.wiremesh.operator.Events;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Gives each WireGuardPeer (an external device) an address of each family from its mesh's
 * peerCIDRs and the endpoints of the nodes it may use as gateways.
 *
 * <ol>
 *   <li>The mesh must exist and have peerCIDRs; otherwise Ready=False with what to set.</li>
 *   <li>A peer keeps the addresses in its status for as long as it exists (never moved, never
 *       reused); a new peer gets the lowest address no other peer of the mesh holds. Allocations of
 *       one mesh are serialised and read from the API server, so peers created together still get
 *       distinct addresses. Deleting the peer releases them.</li>
 *   <li>Gateways ({@link GatewayChoice}): the mesh's nodes (those matching spec.gatewayNodes, if set) with an
 *       accepted WireGuard key and endpoint (their WireGuardNode spec), each listed at the address devices dial: its Node's
 *       wiremesh.io/external-endpoint annotation, else that endpoint. status.gatewayNode names the gateway,
 *       whose address comes first. An invalid annotation leaves its node out, with a Warning Event and the
 *       reason in the Ready condition. Nodes are watched, so a changed annotation or label applies at once.</li>
 *   <li>lastHandshakeTime: the latest the gateway node reports in its WireGuardNode's status.devices
 *       (node-daemons cannot write WireGuardPeers), picked up by the pass every minute.</li>
 * </ol>
 */
@ControllerConfiguration(name = "wireguardpeer")
public class PeerReconciler implements Reconciler<WireGuardPeer> {
    private final ConcurrentHashMap<String, Object> meshLocks = new ConcurrentHashMap<>();
    private InformerEventSource<Node, WireGuardPeer> nodes;

    @Override
    public List<EventSource<?, WireGuardPeer>> prepareEventSources(EventSourceContext<WireGuardPeer> context) {
        // Any peer's gateways may change with a node's external endpoint or labels (spec.gatewayNodes); heartbeats
        // change neither. A new node matters once its WireGuardNode has an endpoint (the periodic pass sees that).
        nodes = new InformerEventSource<>(InformerEventSourceConfiguration.from(Node.class, WireGuardPeer.class)
                .withSecondaryToPrimaryMapper(n -> context.getPrimaryCache().list().map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withOnAddFilter(n -> externalEndpoint(n) != null)
                .withOnUpdateFilter((now, before) -> !Objects.equals(now.getMetadata().getLabels(), before.getMetadata().getLabels())
                        || !Objects.equals(externalEndpoint(now), externalEndpoint(before)))
                .build(), context);
        return List.of(nodes);
    }

    private static String externalEndpoint(Node n) {
        return n.getMetadata().getAnnotations() == null ? null : n.getMetadata().getAnnotations().get(ExternalEndpoint.ANNOTATION);
    }

    @Override
    public UpdateControl<WireGuardPeer> reconcile(WireGuardPeer peer, Context<WireGuardPeer> context) {
        KubernetesClient client = context.getClient();
        String meshName = peer.getSpec().mesh;
        WireGuardPeerStatus status = new WireGuardPeerStatus();
        WireGuardPeerStatus old = peer.getStatus();
        if (old != null) {
            status.addresses = old.addresses;
            status.lastHandshakeTime = old.lastHandshakeTime;
            status.conditions = new ArrayList<>(old.conditions == null ? List.of() : old.conditions);
        }
        WireGuardMesh mesh = client.resources(WireGuardMesh.class).withName(meshName).get();
        if (mesh == null) {
            return notReady(peer, status, "MeshNotFound", "WireGuardMesh " + meshName + " does not exist: create it or fix spec.mesh",
                    Duration.ofSeconds(30));
        }
        List<String> pools = mesh.getSpec().peerCIDRs;
        if (pools == null || pools.isEmpty()) {
            return notReady(peer, status, "NoPeerCIDRs", "WireGuardMesh " + meshName + " has no spec.peerCIDRs: add a range for"
                    + " external peers, e.g. [10.99.0.0/24]", Duration.ofSeconds(60));
        }
        if (status.addresses == null || status.addresses.isEmpty()) {
            synchronized (meshLocks.computeIfAbsent(meshName, k -> new Object())) {
                List<String> got = allocate(client, peer, meshName, pools);
                if (got == null) {
                    return notReady(peer, status, "PoolExhausted", "spec.peerCIDRs " + pools + " of WireGuardMesh " + meshName
                            + " has no free address: add a larger range or remove unused WireGuardPeers", Duration.ofSeconds(60));
                }
                status.addresses = got;
                // Written while holding the lock, so the next allocation of this mesh sees it.
                client.resources(WireGuardPeer.class).withName(peer.getMetadata().getName()).editStatus(p -> {
                    p.setStatus(status);
                    return p;
                });
            }
        }
        int listenPort = mesh.getSpec().listenPortOrDefault();
        List<WireGuardNode> members = client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, meshName).list().getItems();
        GatewayChoice gateways = GatewayChoice.of(members, name -> nodes.get(new ResourceID(name)).orElse(null),
                peer.getSpec().gatewayNodes, listenPort, old);
        status.gatewayNode = gateways.node();
        status.gatewayEndpoints = gateways.endpoints();
        status.lastHandshakeTime = GatewayChoice.lastHandshake(members, gateways.node(), peer.getMetadata().getName(), status.lastHandshakeTime);
        warnOnce(client, peer, gateways.problems());
        String problems = String.join("; ", gateways.problems());
        if (gateways.node() == null) {
            Map<String, String> selector = peer.getSpec().gatewayNodes;
            String why = !problems.isEmpty() ? ": " + problems : selector == null || selector.isEmpty()
                    ? " yet (no node's key and endpoint accepted yet: see `kubectl get wgnode`, PROPOSAL)" : ": no ready node matches spec.gatewayNodes " + selector;
            return notReady(peer, status, "NoGateway", "no node of WireGuardMesh " + meshName + " can serve as gateway" + why,
                    Duration.ofSeconds(30));
        }
        Conditions.set(status.conditions, Conditions.READY, true, "Allocated", "address(es) " + status.addresses + " from WireGuardMesh " + meshName
                + "; gateway node " + gateways.node() + " at " + status.gatewayEndpoints.get(0) + ", " + status.gatewayEndpoints.size()
                + " gateway endpoint(s)" + (problems.isEmpty() ? "" : "; " + problems), peer.getMetadata().getGeneration());
        return UpdateControl.patchStatus(withStatus(peer, status)).rescheduleAfter(Duration.ofMinutes(1));
    }

    /** The lowest free address of each pool (one per family), or null when a pool is full. */
    private static List<String> allocate(KubernetesClient client, WireGuardPeer peer, String mesh, List<String> pools) {
        Set<String> used = new HashSet<>();
        for (WireGuardPeer p : client.resources(WireGuardPeer.class).list().getItems()) {
            if (p.getSpec() == null || !mesh.equals(p.getSpec().mesh) || p.getStatus() == null || p.getStatus().addresses == null) continue;
            if (p.getMetadata().getName().equals(peer.getMetadata().getName())) continue;
            used.addAll(p.getStatus().addresses);
        }
        List<String> out = new ArrayList<>();
        for (String poolText : pools) {
            Cidr pool = Cidr.parse(poolText);
            int host = pool.v6() ? 128 : 32;
            BigInteger size = pool.size();
            BigInteger last = pool.v6() ? size.subtract(BigInteger.ONE) : size.subtract(BigInteger.TWO); // no v4 broadcast
            String found = null;
            for (BigInteger i = BigInteger.ONE; i.compareTo(last) <= 0; i = i.add(BigInteger.ONE)) {
                String a = pool.address(i.longValue()) + "/" + host;
                if (!used.contains(a)) {
                    found = a;
                    break;
                }
            }
            if (found == null) return null;
            out.add(found);
        }
        return out;
    }

    /**
     * A Warning Event per invalid external-endpoint annotation, once: not again while the Ready
     * condition already carries that sentence (this peer is reconciled every minute).
     */
    private static void warnOnce(KubernetesClient client, WireGuardPeer peer, List<String> problems) {
        var ready = Conditions.find(peer.getStatus() == null ? null : peer.getStatus().conditions, Conditions.READY);
        String said = ready == null || ready.getMessage() == null ? "" : ready.getMessage();
        for (String p : problems) if (!said.contains(p)) Events.warning(client, peer, "InvalidExternalEndpoint", p);
    }

    private static UpdateControl<WireGuardPeer> notReady(WireGuardPeer peer, WireGuardPeerStatus status, String reason, String message,
                                                         Duration retry) {
        Conditions.set(status.conditions, Conditions.READY, false, reason, message, peer.getMetadata().getGeneration());
        return UpdateControl.patchStatus(withStatus(peer, status)).rescheduleAfter(retry);
    }

    private static WireGuardPeer withStatus(WireGuardPeer peer, WireGuardPeerStatus status) {
        WireGuardPeer patch = new WireGuardPeer();
        patch.setMetadata(new ObjectMetaBuilder().withName(peer.getMetadata().getName()).build());
        patch.setStatus(status);
        return patch;
    }
}
