package io.wiremesh.node.mesh;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.psk.PresharedKeyExchange;
import io.wiremesh.node.wg.SwitchableDevice;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The WireGuard interface as {@link NodeReconciler} keeps it: which implementation drives it, the key
 * the node holds and the one the interface was given, its port and MTU, and its peers
 * ({@link PeerSync}). Each method compares with what the interface was last given (and whether it
 * still has it: a restarted userspace process comes back empty) before it acts. Not thread-safe: the
 * reconciler's lock guards it.
 */
final class NodeInterface {
    private final String ifname;
    private final NodePorts.DatapathPort datapaths;
    private final NodePorts.RoutePort routes;
    private final NodePorts.StatusPort status;
    private final NodePorts.KeyStore keys;
    private final PresharedKeyExchange exchange;
    private final LongSupplier nanoTime;
    private final NodeLog log;
    /** The node's key and the spec.keyGeneration it answers. */
    private NodeKey key;
    private long keyGeneration;
    private SwitchableDevice device;
    /** The spec.datapath {@link #device} was chosen for. */
    private Datapath deviceFor;
    private PeerSync peerSync;
    /** What the interface was last given (null / 0: nothing, or it was re-created). */
    private NodeKey interfaceKey;
    private int interfacePort;
    private volatile Integer interfaceMtu; // read by the CNI server's thread (new pods' MTU)
    /** The port last bound on any interface of this node, and the key last published (null: the held one). */
    private int boundPort;
    private NodeKey publishedKey;
    /** The interface was re-created or switched: the egress rules are compared with the kernel at the next apply. */
    private boolean egressReassert;
    /** Whether the datapath port was last told the process hangs (null: not told yet since start; a mark may be left over). */
    private Boolean toldUnresponsive;
    /** Passes left that read the peers in full after a hang ended: requests it queued meanwhile may land late, out of order. */
    private int rereadsAfterHang;

    NodeInterface(String ifname, NodeKey key, long keyGeneration, NodePorts.DatapathPort datapaths, NodePorts.RoutePort routes,
                  NodePorts.StatusPort status, NodePorts.KeyStore keys, PresharedKeyExchange exchange, LongSupplier nanoTime, NodeLog log) {
        this.ifname = ifname;
        this.key = key;
        this.keyGeneration = keyGeneration;
        this.datapaths = datapaths;
        this.routes = routes;
        this.status = status;
        this.keys = keys;
        this.exchange = exchange;
        this.nanoTime = nanoTime;
        this.log = log;
    }

    /** Chooses the implementation at the first pass; moves the interface to another when spec.datapath picks another. */
    void datapath(NodePlan plan) throws IOException {
        if (device != null && plan.datapath() == deviceFor) return;
        WireGuardDevice next = datapaths.choose(plan.datapath());
        if (device == null) {
            if (datapaths.takeOver(next)) log.info("removed the previous datapath's " + ifname + "; " + next.kind() + " takes over");
            device = new SwitchableDevice(next);
            peerSync = new PeerSync(device, nanoTime);
            deviceFor = plan.datapath();
            return;
        }
        if (next.kind().equals(device.kind())) { // auto on a kernel node is the kernel already
            next.close();
            deviceFor = plan.datapath();
            return;
        }
        String from = device.kind();
        try {
            datapaths.takeOver(next);
        } catch (IOException | RuntimeException e) {
            next.close();
            try { // towards the kernel the owner is recorded before the TUN goes: put it back
                datapaths.recordOwner(device.current());
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        device.switchTo(next);
        deviceFor = plan.datapath();
        interfaceKey = null; // a new interface: key, port, addresses and peers again
        interfaceMtu = null;
        peerSync.invalidate();
        egressReassert = true; // the policy routes through the old interface went with it
        log.info("spec.datapath is " + plan.datapath().name().toLowerCase() + ": " + ifname + " moved from the " + from + " datapath to the "
                + next.kind() + " one; pod traffic for the mesh is refused until its peers are set");
    }

    /**
     * A new key when the plan asks for a newer generation than the node holds: made and stored (the caller's
     * {@link NodePorts.KeyStore}), then the node's from here on; the interface gets it at {@link #configure}.
     */
    void rotate(NodePlan plan) throws IOException {
        if (keys == null || plan.keyGeneration() <= keyGeneration) return;
        NodeKey next = keys.rotate(plan.keyGeneration());
        key = next;
        keyGeneration = plan.keyGeneration();
        if (exchange != null) exchange.nodeKey(next); // the chains start over for the new key, on both sides
        log.info("new WireGuard key for generation " + keyGeneration + ": " + next.publicKeyBase64());
    }

    /**
     * The interface's key and port when it lacks them (a new or restarted interface has neither, a rotation or an
     * edit changed them). The exchange gives up its port before WireGuard rebinds: the next WireGuard port may be
     * the exchange's. A port the interface cannot have (another process holds it) still lets a rotated key in, on
     * the port it has: the new key does not wait for the port.
     */
    void configure(NodePlan plan) throws IOException {
        boolean fresh = interfaceKey == null || !device.configured();
        if (!fresh && key == interfaceKey && interfacePort == plan.listenPort()) return;
        if (fresh) { // a datapath that restarted, or a new interface, holds none of what we wrote
            peerSync.invalidate();
            interfaceKey = null;
            interfaceMtu = null;
            egressReassert = true;
        }
        if (exchange != null) exchange.listenPort(plan.listenPort());
        datapaths.recordOwner(device.current());
        try {
            device.configure(key.privateKeyForDevice(), plan.listenPort());
        } catch (IOException e) {
            if (fresh) throw new IOException("the " + device.kind() + " datapath does not answer yet (" + e.getMessage() + ")", e);
            if (key != interfaceKey) {
                try {
                    device.configure(key.privateKeyForDevice(), interfacePort);
                    interfaceKey = key;
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
            }
            throw e; // a live interface refused the port: the cause as it is
        }
        interfaceKey = key;
        interfacePort = plan.listenPort();
        boundPort = interfacePort;
    }

    /** Addresses, MTU and link state, when the interface lacks them. */
    void setUp(NodePlan plan) throws IOException {
        if (plan.mtu() <= 0) throw new IOException("no MTU: spec.mtu is unset and the MTU of the underlay interface is unknown");
        if (Objects.equals(interfaceMtu, plan.mtu())) return; // a down or re-created link was found by configure, which cleared it
        routes.setUp(plan.overlayAddresses(), plan.mtu(), plan.failClosedPools());
        interfaceMtu = plan.mtu();
    }

    /**
     * Puts {@code plan}'s peers on the interface (strangers go only when {@code complete}); then the key the interface
     * holds is the one to publish: a peer that learns it finds this side ready.
     */
    void peers(PeerPlan plan, boolean complete) throws IOException {
        peerSync.apply(plan, complete);
        if (interfaceKey != null && interfaceKey != publishedKey) {
            publishedKey = interfaceKey;
            status.key(publishedKey.publicKeyBase64(), keyGeneration, publishedKey.created());
        }
    }

    /**
     * Writes the pair's current preshared key onto the one peer (the exchange's installer): O(1), not a pass.
     *
     * @return false when the interface is not configured or refused (the exchange retries)
     */
    boolean installPresharedKey(String peerNode, String publicKey) {
        if (peerSync == null || interfaceKey == null || !device.configured()) return false;
        try {
            return peerSync.presharedKey(publicKey, exchange.presharedKey(peerNode, publicKey));
        } catch (IOException | RuntimeException e) {
            log.info("preshared key for " + peerNode + " not installed, retrying: " + e.getMessage());
            return false;
        }
    }

    /** The interface (null before the first pass chose its implementation). */
    SwitchableDevice device() {
        return device;
    }

    /** Whether this interface was given its key (its link may still be down: the MTU step brings it up). */
    boolean keyed() {
        return device != null && interfaceKey != null;
    }

    /** True once after the interface was re-created or switched: the egress rules must be compared with the kernel. */
    boolean takeEgressReassert() {
        boolean r = egressReassert;
        egressReassert = false;
        return r;
    }

    /** The port last bound (what the node publishes; kept across a switch until the new interface binds), or {@code planned}. */
    int port(int planned) {
        return boundPort == 0 ? planned : boundPort;
    }

    /** The public key the node publishes: the one the interface held when its peers were last set, else the held one. */
    String publicKey() {
        return (publishedKey == null ? key : publishedKey).publicKeyBase64();
    }

    /** The MTU the interface was given, or null before. */
    Integer mtu() {
        return interfaceMtu;
    }

    /** The interface's peers are read in full at the next pass (the peer report found the datapath hanging). */
    void rereadPeers() {
        if (peerSync != null) peerSync.invalidate();
    }

    /**
     * Tells the datapath port that the interface's process answered ({@code hung} null) or hangs (why). A hang is told
     * at every pass that meets it (the datapath's container removes the mark when it starts one, so a mark told once
     * could be gone for good); an answer only when it follows a hang, or at the first pass (a mark left from before).
     * After a hang, the next passes read the peers and set key and port again: requests written to the hung process
     * may still be carried out late, over newer ones.
     */
    void answered(String hung) {
        if (hung == null && Boolean.FALSE.equals(toldUnresponsive)) {
            if (rereadsAfterHang > 0 && peerSync != null) {
                rereadsAfterHang--;
                peerSync.invalidate();
            }
            return;
        }
        try {
            datapaths.unresponsive(hung);
            if (hung == null && Boolean.TRUE.equals(toldUnresponsive)) {
                rereadsAfterHang = 2;
                interfaceKey = null; // configure() writes key and port again
                if (peerSync != null) peerSync.invalidate();
            }
            toldUnresponsive = hung != null;
            log.once("unresponsive-mark", null);
        } catch (IOException e) { // its liveness probe then cannot tell; the Ready condition still says it
            log.once("unresponsive-mark", "cannot mark the datapath " + (hung == null ? "responsive" : "unresponsive") + ": " + e.getMessage());
        }
    }
}
