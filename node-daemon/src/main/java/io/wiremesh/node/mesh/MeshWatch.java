package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The three watches a node-daemon keeps: the WireGuardNodes of its mesh (by the
 * {@code wiremesh.io/mesh} label: one small event per join or leave), every WireGuardPeer, and its
 * WireGuardMesh. Events reach the {@link Listener} only once all three have listed what exists, so
 * no decision is ever taken on a view that lacks one of them (an external device's peer removed
 * because the WireGuardPeers were not listed yet); the listener's first call comes from its owner.
 */
final class MeshWatch implements AutoCloseable {
    /** What the owner does on events; called on the informers' threads. */
    interface Listener {
        /** A member, or an external device, changed in a way that matters for peers or routes. */
        void peersChanged();

        /** The WireGuardMesh was added or updated (the caller compares generations). */
        void meshChanged(WireGuardMesh mesh);

        /** This node's own WireGuardNode was deleted (after {@link #peersChanged()} for it). */
        void membershipEnded();

        /** This node's own WireGuardNode changed (by anyone: its status may no longer hold this node's proposal). */
        default void ownMemberChanged(WireGuardNode self) {}

        /** {@code changed} on every change that matters to the node (members, devices, the mesh, the end of membership). */
        static Listener of(Runnable changed, java.util.function.Consumer<WireGuardNode> ownMember) {
            return new Listener() {
                @Override
                public void peersChanged() {
                    changed.run();
                }

                @Override
                public void meshChanged(WireGuardMesh mesh) {
                    changed.run();
                }

                @Override
                public void membershipEnded() {
                    changed.run();
                }

                @Override
                public void ownMemberChanged(WireGuardNode self) {
                    ownMember.accept(self);
                }
            };
        }
    }

    /**
     * Waits (up to {@code timeout}, polling every 0.5 s) for the operator to give {@code node} its WireGuardNode in {@code mesh}.
     *
     * @throws IOException after {@code timeout}, saying what to check
     */
    static WireGuardNode awaitMember(KubernetesClient client, String mesh, String node, java.time.Duration timeout) throws IOException {
        String name = WireGuardNode.nameFor(mesh, node);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            WireGuardNode w = client.resources(WireGuardNode.class).withName(name).get();
            if (w != null && w.getSpec() != null) return w;
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        throw new IOException("no WireGuardNode " + name + " after " + timeout.toSeconds() + " s: is the operator running, and does mesh "
                + mesh + " select node " + node + "?");
    }

    /** How often the informers relist: a missed event is repaired within this. */
    static final long RESYNC_MILLIS = TimeUnit.MINUTES.toMillis(5);
    private volatile boolean started;
    private final SharedIndexInformer<WireGuardNode> members;
    private final SharedIndexInformer<WireGuardPeer> peers;
    private final SharedIndexInformer<WireGuardMesh> meshes;

    /**
     * Starts the watches of {@code mesh} for {@code node}; returns once each has listed what exists.
     * What changed while they listed (an edit of the mesh, this node's own member deleted) reaches
     * no listener: the owner reads {@link #mesh()} and {@link #hasMember(String)} right after.
     *
     * @throws RuntimeException when a watch cannot start (the ones already started are closed)
     */
    MeshWatch(KubernetesClient client, String mesh, String node, Listener listener) {
        List<SharedIndexInformer<?>> started = new java.util.ArrayList<>();
        try {
            members = start(started, client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, mesh), memberHandler(node, listener));
            peers = start(started, client.resources(WireGuardPeer.class), peerHandler(listener));
            meshes = start(started, client.resources(WireGuardMesh.class).withName(mesh), meshHandler(listener));
        } catch (RuntimeException e) {
            started.forEach(SharedIndexInformer::close);
            throw e;
        }
        this.started = true;
    }

    private static <T extends io.fabric8.kubernetes.api.model.HasMetadata> SharedIndexInformer<T> start(List<SharedIndexInformer<?>> started,
            io.fabric8.kubernetes.client.dsl.Informable<T> what, ResourceEventHandler<T> handler) {
        SharedIndexInformer<T> informer = what.inform(handler, RESYNC_MILLIS);
        started.add(informer);
        return informer;
    }

    private ResourceEventHandler<WireGuardNode> memberHandler(String node, Listener listener) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(WireGuardNode obj) {
                if (started) listener.peersChanged();
            }

            @Override
            public void onUpdate(WireGuardNode oldObj, WireGuardNode newObj) {
                if (started && peerRelevantChange(oldObj, newObj)) listener.peersChanged(); // not for handshake summaries
                if (started && newObj.getSpec() != null && node.equals(newObj.getSpec().nodeName)) listener.ownMemberChanged(newObj);
            }

            @Override
            public void onDelete(WireGuardNode obj, boolean deletedFinalStateUnknown) {
                if (!started) return;
                listener.peersChanged(); // drops every peer and route of the departed node (or all of them, when it is this one)
                if (obj.getSpec() != null && node.equals(obj.getSpec().nodeName)) listener.membershipEnded();
            }
        };
    }

    private ResourceEventHandler<WireGuardPeer> peerHandler(Listener listener) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(WireGuardPeer obj) {
                if (started) listener.peersChanged();
            }

            @Override
            public void onUpdate(WireGuardPeer oldObj, WireGuardPeer newObj) {
                if (started) listener.peersChanged();
            }

            @Override
            public void onDelete(WireGuardPeer obj, boolean deletedFinalStateUnknown) {
                if (started) listener.peersChanged();
            }
        };
    }

    /** Edits of the mesh apply live: a kubectl edit must not wait for a pod restart. */
    private ResourceEventHandler<WireGuardMesh> meshHandler(Listener listener) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(WireGuardMesh obj) {
                if (started) listener.meshChanged(obj);
            }

            @Override
            public void onUpdate(WireGuardMesh oldObj, WireGuardMesh newObj) {
                // Only an edit of the spec (a new generation): the operator's status writes change nothing on a node.
                if (started && !Objects.equals(oldObj.getMetadata().getGeneration(), newObj.getMetadata().getGeneration())) {
                    listener.meshChanged(newObj);
                }
            }

            @Override
            public void onDelete(WireGuardMesh obj, boolean deletedFinalStateUnknown) {
                // The operator deletes the members with it: the delete of this node's WireGuardNode ends membership.
            }
        };
    }

    /** The WireGuardMesh as last seen; null when it is gone. */
    WireGuardMesh mesh() {
        return meshes.getStore().list().stream().findFirst().orElse(null);
    }

    /** Whether {@code node} has a WireGuardNode in this mesh (as last seen). */
    boolean hasMember(String node) {
        return members().stream().anyMatch(w -> w.getSpec() != null && node.equals(w.getSpec().nodeName));
    }

    /**
     * Only what changes peers, routes or keys, all of it in the operator-written spec: the blocks, the
     * overlay and node addresses, the asked key generation (a rotation of that node's key), and the
     * accepted keys (WireGuard, ML-KEM) and endpoints. Nothing a node writes in its status changes
     * another node's peers: a proposal counts once the operator has accepted it into the spec.
     */
    static boolean peerRelevantChange(WireGuardNode before, WireGuardNode after) {
        var a = before.getSpec();
        var b = after.getSpec();
        if (a == null || b == null) return a != b;
        return !Objects.equals(a.podCIDRs, b.podCIDRs) || !Objects.equals(a.overlayAddresses, b.overlayAddresses)
                || !Objects.equals(a.nodeAddresses, b.nodeAddresses) || !Objects.equals(a.keyGeneration, b.keyGeneration)
                || !Objects.equals(a.publicKey, b.publicKey) || !Objects.equals(a.kemPublicKey, b.kemPublicKey)
                || !Objects.equals(a.endpoints, b.endpoints);
    }

    /** The mesh's WireGuardNodes as last seen, this node's included. */
    List<WireGuardNode> members() {
        return members.getStore().list();
    }

    /** Every WireGuardPeer as last seen. */
    List<WireGuardPeer> externalPeers() {
        return peers.getStore().list();
    }

    /** Whether both lists are complete (relisted after a lost watch): only then may a peer be removed as a stranger. */
    boolean complete() {
        return members.hasSynced() && peers.hasSynced();
    }

    @Override
    public void close() {
        members.close();
        peers.close();
        meshes.close();
    }
}
