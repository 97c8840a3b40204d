package io.wiremesh.node.mesh;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.keys.KemKey;
import io.wiremesh.node.keys.NodeIdentity;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.psk.PresharedKeyExchange;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.node.wg.SwitchableDevice;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * This node's part of a mesh: waits for its WireGuardNode, configures the WireGuard interface,
 * publishes its public key and endpoint, and keeps the interface's peers and routes equal to the
 * other ready WireGuardNodes of the mesh, applying edits of the mesh live. It coordinates; each
 * part lives in its own class: {@link MeshWatch} (what exists), {@link PeerPlan} (what the
 * interface and routes should hold: pure), {@link PeerSync} (writes the difference),
 * {@link MeshRouting} and {@link NodeEgress} (routes, masquerade), {@link MeshChange} (what an edit
 * changes), {@link MemberStatus} (what this node publishes), and the datapath choice
 * ({@link Datapaths}). A watchdog thread re-asserts the fail-closed routes, retries what failed and
 * reconfigures a datapath that restarted.
 */
public final class MeshAgent implements AutoCloseable {
    private final KubernetesClient client;
    private final String mesh;
    private final String node;
    /** This node's WireGuard key; replaced by a rotation ({@link #rotateKeyIfAsked}). */
    private volatile NodeKey key;
    /** The node's state directory (keys, chains), or null when it keeps none (then no rotation). */
    private final Path stateDir;
    /** The spec.keyGeneration {@link #key} answers. */
    private long keyGeneration;
    /** A rotated key not yet on the interface or not yet published: the watchdog retries every second. */
    private volatile boolean keyPending;
    private final String ifname;
    /** The interface, whichever implementation drives it (a live edit of spec.datapath switches it). */
    private SwitchableDevice device;
    /** Writes the peers and routes of each plan, only what differs from the interface. */
    private PeerSync peerSync;
    private final MeshRouting routing;
    private final NodeEgress egress;
    /** The egress state (masquerade table, policy routes) last failed to apply: the watchdog retries it. */
    private volatile boolean egressPending;
    private final String endpointHost;
    /** The mesh's members, external devices and the mesh itself, once all three are listed (null before). */
    private volatile MeshWatch watch;
    private final MemberStatus status;
    /** The post-quantum preshared keys with the other nodes, or null when this node has no ML-KEM key. */
    private final PresharedKeyExchange exchange;
    private PresharedKeyExchange.Summary lastPskSummary;
    /** metadata.generation of the mesh spec this node has applied (published as status.observedMeshGeneration). */
    private volatile Long appliedGeneration;
    /** The spec this node has applied: what the next edit is compared with. */
    private WireGuardMeshSpec appliedSpec;
    /** The latest WireGuardMesh whose generation is not applied yet; the watchdog retries it every second. */
    private volatile WireGuardMesh pendingMesh;
    private String lastMeshProblem;
    private Thread watchdog;
    /** Set by {@link #close}: no more writes to the node. */
    private volatile boolean closed;
    private volatile Runnable onMembershipEnded = () -> {};
    private volatile java.util.function.Supplier<NodeProblem> nodeProblems = () -> null;
    private volatile NodeProblem lastNodeProblem; // what the last status write carried, or tried to (a failed one is retried in 5 s)
    private final java.util.concurrent.ConcurrentHashMap<String, String> nodeByKey = new java.util.concurrent.ConcurrentHashMap<>();
    /** Public key -> WireGuardPeer name of the external devices this node is the gateway for. */
    private final java.util.concurrent.ConcurrentHashMap<String, String> externalNames = new java.util.concurrent.ConcurrentHashMap<>();
    private WireGuardNode self;
    private WireGuardMeshSpec meshSpec;
    private int listenPort;
    private volatile int mtu;
    private String readyMessage;

    /**
     * @param identity     this node's signing identity: signs every proposal of keys and endpoints in its status
     * @param kem          this node's ML-KEM key pair (its public key is published), or null for none (no preshared keys with other nodes)
     * @param stateDir     the node's state directory: its keys, and the preshared-key chains with the other nodes (psk/); null for none
     * @param endpointHost the node address other nodes reach this one at
     */
    public MeshAgent(KubernetesClient client, String mesh, String node, NodeKey key, KemKey kem, NodeIdentity identity, Path stateDir,
                     String ifname, MeshRouting routing, NodeEgress egress, String endpointHost) {
        this.client = client;
        this.egress = egress;
        this.mesh = mesh;
        this.node = node;
        this.key = key;
        this.stateDir = stateDir;
        this.ifname = ifname;
        this.routing = routing;
        this.endpointHost = endpointHost;
        this.status = new MemberStatus(client, mesh, node, identity, key.publicKeyBase64(), kem == null ? null : kem.publicKeyBase64(), endpointHost);
        this.exchange = kem == null ? null : new PresharedKeyExchange(node, key, kem, stateDir.resolve("psk"), this::installPresharedKey, System::currentTimeMillis);
    }

    /** Waits (up to {@code timeout}) for the operator to give this node its WireGuardNode. */
    public WireGuardNode awaitMembership(Duration timeout) throws IOException {
        String name = WireGuardNode.nameFor(mesh, node);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            WireGuardNode w = client.resources(WireGuardNode.class).withName(name).get();
            if (w != null && w.getSpec() != null) {
                self = w;
                return w;
            }
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

    /** Configures the interface, publishes status and starts following the mesh's other nodes. */
    public void start() throws IOException {
        WireGuardMesh m = client.resources(WireGuardMesh.class).withName(mesh).get();
        if (m == null) throw new IOException("WireGuardMesh " + mesh + " does not exist");
        meshSpec = m.getSpec();
        appliedSpec = meshSpec;
        appliedGeneration = m.getMetadata().getGeneration();
        listenPort = MeshChange.port(meshSpec);
        keyGeneration = key.generation();
        if (keyGeneration == 0) {
            // The first start (or a key from before generations were recorded): the key answers the generation asked now.
            keyGeneration = self.getSpec().keyGeneration == null ? 1 : self.getSpec().keyGeneration;
            if (stateDir != null) {
                try {
                    NodeKey.recordGeneration(stateDir, keyGeneration);
                } catch (IOException e) {
                    System.err.println("wiremesh node-daemon: cannot record the key's generation in " + stateDir + ": " + e.getMessage());
                }
            }
        }
        status.key(key.publicKeyBase64(), keyGeneration, key.created());
        if (exchange != null) {
            exchange.settings(meshSpec.presharedKeysEnabled(), meshSpec.presharedKeyInterval());
            exchange.localAddresses(self.getSpec().overlayAddresses);
            exchange.listenPort(listenPort);
        }
        // Before anything else (datapath choice, CNI socket, conflist): no instant in which pod traffic for the
        // mesh could take the node's default route.
        routing.failClosed(pools());
        try {
            WireGuardDevice chosen = Datapaths.choose(meshSpec.datapath, ifname);
            // The chart's userspace datapath waits for the owner record before it creates a TUN of the same name;
            // an interface the other implementation left (spec.datapath edited while this daemon was away) goes.
            if (Datapaths.takeOver(chosen, ifname, Datapaths.UAPI_DIR)) {
                System.err.println("wiremesh node-daemon: removed the previous datapath's " + ifname + "; " + chosen.kind() + " takes over");
            }
            device = new SwitchableDevice(chosen);
            peerSync = new PeerSync(device, routing::route, System::nanoTime);
        } catch (Datapaths.Unavailable e) {
            publishStatus(false, "DatapathUnavailable", e.getMessage());
            throw e;
        }
        mtu = meshSpec.mtu != null ? meshSpec.mtu : routing.autoMtu(endpointHost);
        String underlay = routing.looseReversePathOn(endpointHost);
        // Only an address the operator accepted for this node: peers allow it from this node's tunnel (AllowedIPs).
        List<String> accepted = self.getSpec().nodeAddresses == null ? List.of() : self.getSpec().nodeAddresses;
        routing.preferSource(accepted.contains(endpointHost) ? List.of(endpointHost) : List.of());
        readyMessage = "WireGuard interface " + ifname + " configured; " + self.getSpec().podCIDRs
                + "; pod sources accepted only from the tunnel, not from " + underlay;
        String waiting = null;
        try {
            configureDevice();
        } catch (IOException e) {
            // The datapath container may start after us: the watchdog below configures it when it appears.
            waiting = e.getMessage();
        }

        watch = new MeshWatch(client, mesh, node, new MeshWatch.Listener() {
            @Override
            public void peersChanged() {
                sync();
            }

            @Override
            public void meshChanged(WireGuardMesh m) {
                onMesh(m);
            }

            @Override
            public void ownMemberChanged(WireGuardNode self) {
                if (!status.holdsOwnProposal(self.getStatus()) && !proposalOverwritten) {
                    proposalOverwritten = true; // the watchdog writes it back, at most every PROPOSAL_REWRITE_INTERVAL
                    System.err.println("wiremesh node-daemon: this node's status no longer holds its own proposal (written with other"
                            + " credentials?): writing it back");
                }
            }

            @Override
            public void membershipEnded() {
                onMembershipEnded.run();
            }
        });
        sync();
        // Peers first, key second: a node back with a new key can answer the first handshake of every peer
        // that learns the key from this status (publishing first cost a dropped handshake and a 5 s retry).
        if (waiting == null) publishStatus(true, "Configured", readyMessage);
        else publishStatus(false, "WaitingForDatapath", waiting);
        // What changed while the watches listed reached no listener: an edit of the mesh, the end of membership.
        WireGuardMesh listed = watch.mesh();
        if (listed != null) onMesh(listed);
        if (!watch.hasMember(node)) onMembershipEnded.run();
        if (exchange != null) exchange.start();
        // The datapath is its own process: if it restarts, its interface comes back empty. Notice and reapply.
        watchdog = Thread.ofPlatform().daemon().name("datapath-watch").start(() -> {
            long lastReport = 0, ticks = 0;
            NodeProblem loggedProblem = null;
            java.util.Set<String> lastHealthy = null;
            while (!closed && !Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(1000);
                    try {
                        routing.failClosed(pools()); // someone may have flushed them
                    } catch (IOException e) {
                        System.err.println("wiremesh node-daemon: cannot re-assert the fail-closed routes: " + e.getMessage());
                    }
                    NodeProblem problem = nodeProblems.get();
                    if (!java.util.Objects.equals(problem, loggedProblem)) {
                        System.err.println("wiremesh node-daemon: " + (problem == null ? loggedProblem.reason() + " resolved" : problem.message()));
                        loggedProblem = problem;
                    }
                    if (!java.util.Objects.equals(problem, lastNodeProblem)) republishStatus();
                    // Egress does not wait for the datapath: retried every second when it failed, and compared
                    // with the kernel every 10 s (someone may have flushed the ruleset or deleted a rule).
                    if (pendingMesh != null) applyPendingMesh(); // a mesh edit that failed to apply
                    if (keyPending) applyKey(); // a rotated key the interface or the API server refused
                    if (proposalOverwritten && System.nanoTime() - lastProposalRewrite > PROPOSAL_REWRITE_INTERVAL.toNanos()) {
                        lastProposalRewrite = System.nanoTime();
                        proposalOverwritten = false;
                        republishStatus();
                    }
                    // The record of the interface is trusted for PeerSync.REREAD_AFTER_NANOS: compare it again so
                    // that a change behind our back (wg set, a peer's allowed IP moved) is repaired in a quiet mesh too.
                    if (ticks % RESYNC_TICKS == RESYNC_TICKS - 1) sync();
                    if (++ticks % EGRESS_RECHECK_TICKS == 0) {
                        egress.reassert();
                        applyEgress();
                    } else if (egressPending) {
                        applyEgress();
                    }
                    if (!device.configured()) {
                        configureDevice();
                        sync();
                        publishStatus(true, "Configured", readyMessage);
                    }
                    // Reading every peer costs O(N) on both sides of the socket: every PEER_READ_TICKS, not every second.
                    if (ticks % PEER_READ_TICKS != 1) continue;
                    List<WireGuardDevice.PeerState> peers = device.peers();
                    java.util.Set<String> healthy = healthyPeers(peers);
                    boolean report = !healthy.equals(lastHealthy) || System.nanoTime() - lastReport > PEER_REPORT_INTERVAL.toNanos();
                    if (report) {
                        status.reportPeers(peers, nodeByKey, externalNames);
                        lastReport = System.nanoTime();
                        lastHealthy = healthy;
                    }
                    if (exchange != null) {
                        Map<String, Long> handshakes = new HashMap<>();
                        for (var p : peers) handshakes.put(p.publicKey(), p.lastHandshakeEpochSeconds());
                        exchange.handshakes(handshakes);
                        PresharedKeyExchange.Summary psk = exchange.summary();
                        // Counts change rarely; the times and the rotation count ride along with the peer report.
                        if (report || !sameCounts(psk, lastPskSummary)) {
                            status.reportPresharedKeys(psk);
                            lastPskSummary = psk;
                        }
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | RuntimeException e) {
                    System.err.println("wiremesh node-daemon: datapath not ready yet: " + e.getMessage());
                }
            }
        });
    }

    /** The least time between two rewrites of this node's proposal over a status someone else wrote. */
    static final Duration PROPOSAL_REWRITE_INTERVAL = Duration.ofSeconds(5);
    /** Someone else wrote this node's status: the watchdog writes the proposal back. */
    private volatile boolean proposalOverwritten;
    private long lastProposalRewrite = System.nanoTime() - PROPOSAL_REWRITE_INTERVAL.toNanos();

    /**
     * The per-peer handshake summary in the status is rewritten when a peer's health changes and
     * otherwise this rarely: every node watches every WireGuardNode of its mesh, so frequent status
     * writes would turn into O(N^2) watch traffic. Live counters are in /metrics.
     */
    static final Duration PEER_REPORT_INTERVAL = Duration.ofMinutes(5);
    /** Watchdog ticks (seconds) between full syncs without an event: a little more than PeerSync's trust in its record. */
    static final int RESYNC_TICKS = 31;
    /** Watchdog ticks (seconds) between reads of the peers' handshakes for the status summary. */
    static final int PEER_READ_TICKS = 10;
    /** A peer without a handshake for REJECT_AFTER_TIME has no usable session. */
    static final long HEALTHY_HANDSHAKE_SECONDS = 180;

    private static boolean sameCounts(PresharedKeyExchange.Summary a, PresharedKeyExchange.Summary b) {
        if (a == null || b == null) return a == b;
        return a.peers() == b.peers() && a.stale() == b.stale();
    }

    static java.util.Set<String> healthyPeers(List<WireGuardDevice.PeerState> peers) {
        long now = Instant.now().getEpochSecond();
        java.util.Set<String> ok = new HashSet<>();
        for (var p : peers) if (p.lastHandshakeEpochSeconds() > 0 && now - p.lastHandshakeEpochSeconds() < HEALTHY_HANDSHAKE_SECONDS) ok.add(p.publicKey());
        return ok;
    }

    private synchronized void configureDevice() throws IOException {
        peerSync.invalidate(); // a datapath that restarted, or a new interface, holds none of the peers we wrote
        Datapaths.owner(device.current()).record(Datapaths.UAPI_DIR, ifname); // the chart's datapath container follows it
        device.configure(key.privateKeyForDevice(), listenPort);
        routing.setUp(self.getSpec().overlayAddresses, mtu, pools());
    }

    /** Every pool of the mesh: pod pools and external peer pools. */
    /**
     * What the fail-closed routes cover: the mesh's pools and every member's blocks, so a block that is
     * still in use stays covered even when an edit of the pools (which the operator refuses) reaches
     * the node.
     */
    private List<Cidr> pools() {
        List<Cidr> pools = pools(meshSpec);
        MeshWatch w0 = watch;
        if (w0 != null) {
            for (WireGuardNode w : w0.members()) {
                if (w.getSpec() == null || w.getSpec().podCIDRs == null) continue;
                for (String b : w.getSpec().podCIDRs) {
                    Cidr block = Cidr.parse(b);
                    if (pools.stream().noneMatch(p -> p.v6() == block.v6() && p.contains(block))) pools.add(block);
                }
            }
        }
        return pools;
    }

    private static List<Cidr> pools(WireGuardMeshSpec spec) {
        List<Cidr> pools = new ArrayList<>(spec.podCIDRs.stream().map(Cidr::parse).toList());
        if (spec.peerCIDRs != null) spec.peerCIDRs.forEach(c -> pools.add(Cidr.parse(c)));
        return pools;
    }

    /** Makes peers and routes equal to the other ready nodes; removes strangers only once the cache is synced. */
    public synchronized void sync() {
        if (closed) return;
        rotateKeyIfAsked();
        String failure = syncPeers();
        if (failure != null) System.err.println("wiremesh node-daemon: peer sync failed (retried on the next change, when the datapath"
                + " appears, and at the latest in " + RESYNC_TICKS + " s): " + failure);
        applyEgress();
    }

    /**
     * A new WireGuard key when this node's WireGuardNode asks for a newer spec.keyGeneration than the key
     * it holds (the operator's schedule, spec.keyRotation, or an admin): the key is made and stored, set on
     * the interface, then published. Until the other nodes have the new key (one watch event), this node's
     * packets to them wait in the interface's staged queue (WireGuard keeps up to 128 per peer while a
     * handshake is pending) and theirs still arrive on the current sessions; the preshared-key exchange,
     * which starts new chains for the new key at once on both sides, makes the first handshake within a
     * second. A key that cannot be stored is asked for again at the next sync; one stored but not yet on
     * the interface or not published is retried every second by the watchdog ({@link #applyKey}).
     */
    private synchronized void rotateKeyIfAsked() {
        MeshWatch w = watch;
        if (w == null || stateDir == null || device == null) return;
        WireGuardNode me = null;
        for (WireGuardNode m : w.members()) if (m.getSpec() != null && node.equals(m.getSpec().nodeName)) me = m;
        if (me == null || me.getSpec().keyGeneration == null || me.getSpec().keyGeneration <= keyGeneration) return;
        long wanted = me.getSpec().keyGeneration;
        NodeKey next;
        try {
            next = NodeKey.rotate(stateDir, wanted);
        } catch (IOException e) {
            System.err.println("wiremesh node-daemon: cannot store a new WireGuard key for generation " + wanted + ", retrying: " + e.getMessage());
            return;
        }
        // From here on the new key is the node's (also for a reconfiguration after a datapath restart); what is left
        // is to put it on the interface and publish it, retried every second until done.
        key = next;
        keyGeneration = wanted;
        status.key(next.publicKeyBase64(), wanted, next.created());
        if (exchange != null) exchange.nodeKey(next);
        keyPending = true;
        System.err.println("wiremesh node-daemon: new WireGuard key for generation " + wanted + ": " + next.publicKeyBase64());
        applyKey();
    }

    /**
     * Puts the rotated key on the interface, then the peers without their old preshared keys (the chains start
     * over for the new key), then publishes it: peers that learn the key then find this side ready.
     */
    private synchronized void applyKey() {
        if (!keyPending) return;
        try {
            device.configure(key.privateKeyForDevice(), listenPort);
            String failure = syncPeers();
            if (failure != null) throw new IOException("peers not updated: " + failure);
            publishStatus(true, "Configured", readyMessage);
            keyPending = false;
        } catch (IOException | RuntimeException e) {
            System.err.println("wiremesh node-daemon: new key of generation " + keyGeneration + " not applied yet, retrying: " + e.getMessage());
        }
    }

    /** The work of {@link #sync()} without egress; returns null, or what failed. */
    private synchronized String syncPeers() {
        MeshWatch w = watch;
        if (w == null) return null; // the first sync comes once every watch has listed
        try {
            boolean complete = w.complete();
            List<WireGuardNode> members = w.members();
            if (exchange != null) exchange.peers(exchangePeers(members), complete); // before the plan: a peer's new key drops its chain's key
            PeerPlan plan = PeerPlan.of(mesh, node, meshSpec, members, complete, w.externalPeers(), this::presharedKey,
                    (peerNode, publicKey) -> exchange == null ? null : exchange.presharedKey(peerNode, publicKey));
            nodeByKey.clear();
            nodeByKey.putAll(plan.nodeByKey());
            externalNames.clear();
            externalNames.putAll(plan.externalNames());
            // Strangers go only once both watches are complete: an incomplete view must not drop a live peer.
            peerSync.apply(plan, complete);
            return null;
        } catch (IOException | RuntimeException e) {
            return String.valueOf(e.getMessage());
        }
    }

    /**
     * Writes the pair's current preshared key onto the one peer (the exchange's {@link PresharedKeyExchange.Installer}):
     * O(1), not a sync of every peer. Under this agent's lock, as syncs are, so a sync that read the previous key
     * cannot write it over the new one.
     */
    private synchronized boolean installPresharedKey(String peerNode, String publicKey) {
        if (peerSync == null || !device.configured()) return false;
        try {
            return peerSync.presharedKey(publicKey, exchange.presharedKey(peerNode, publicKey));
        } catch (IOException | RuntimeException e) {
            System.err.println("wiremesh node-daemon: preshared key for " + peerNode + " not installed, retrying: " + e.getMessage());
            return false;
        }
    }

    /**
     * The other members with an accepted WireGuard key, as the preshared-key exchange needs them: keys and
     * port from the spec (what the operator accepted), never from the node's own status.
     */
    private List<PresharedKeyExchange.Peer> exchangePeers(List<WireGuardNode> members) {
        List<PresharedKeyExchange.Peer> out = new ArrayList<>();
        for (WireGuardNode w : members) {
            if (w.getSpec() == null || w.getSpec().publicKey == null || node.equals(w.getSpec().nodeName)) continue;
            out.add(new PresharedKeyExchange.Peer(w.getSpec().nodeName, w.getSpec().publicKey, w.getSpec().kemPublicKey,
                    w.getSpec().overlayAddresses, endpointPort(w.getSpec().endpoints)));
        }
        return out;
    }

    /** The port of the first endpoint ({@code ip:port} or {@code [ip6]:port}); the mesh's listen port when there is none. */
    private int endpointPort(List<String> endpoints) {
        if (endpoints == null || endpoints.isEmpty()) return MeshChange.port(meshSpec);
        String e = endpoints.getFirst();
        try {
            return Integer.parseInt(e.substring(e.lastIndexOf(':') + 1));
        } catch (NumberFormatException x) {
            return MeshChange.port(meshSpec);
        }
    }

    /** A WireGuardMesh from the watch: a generation newer than the applied one is applied (an older object, e.g. from a relist, is not). */
    void onMesh(WireGuardMesh m) {
        Long generation = m.getMetadata().getGeneration();
        Long applied = appliedGeneration;
        if (m.getSpec() == null || generation == null || applied != null && generation <= applied) return;
        pendingMesh = m;
        applyPendingMesh();
    }

    /**
     * Applies the pending edit of the mesh on this running node ({@link MeshChange}): listen port (rebind;
     * the new endpoint is published and the other nodes follow it), MTU (the interface now, pods created
     * from now on; existing pods keep theirs until recreated), persistent keepalive, pools (fail-closed
     * routes, AllowedIPs, routes), egress. Only when every step succeeded and the status is written does
     * status.observedMeshGeneration move to the new generation. A change of spec.datapath that picks
     * the other implementation re-creates the interface ({@link #switchDatapath}) before the rest. A
     * step that fails (a port in use, the new datapath not up yet, no kernel module) is reported once
     * in the Ready condition (reason MeshChangeNotApplied, with the generation and the cause) and
     * retried every second by the watchdog; what did apply stays applied and is published (a rebound
     * port is the node's endpoint at once).
     */
    synchronized void applyPendingMesh() {
        WireGuardMesh m = pendingMesh;
        if (m == null || device == null) return;
        Long generation = m.getMetadata().getGeneration();
        WireGuardMeshSpec after = m.getSpec();
        Set<MeshChange> changes = MeshChange.between(appliedSpec, after);
        try {
            boolean switched = changes.contains(MeshChange.DATAPATH) && switchDatapath(after);
            int port = MeshChange.port(after);
            if (port != listenPort) {
                if (exchange != null) exchange.listenPort(port); // frees the exchange's port first: it may be WireGuard's next
                device.configure(key.privateKeyForDevice(), port);
                listenPort = port; // from here on the published endpoint, also if a later step fails
            }
            int newMtu = after.mtu != null ? after.mtu : routing.autoMtu(endpointHost);
            if (newMtu != mtu) {
                routing.setUp(self.getSpec().overlayAddresses, newMtu, pools(after));
                mtu = newMtu;
            }
            meshSpec = after; // keepalive, pools and egress below read it
            if (exchange != null) exchange.settings(after.presharedKeysEnabled(), after.presharedKeyInterval());
            // A new interface (this edit's switch, or one whose userspace process was not up at the last try).
            if (changes.contains(MeshChange.DATAPATH) && !device.configured()) configureDevice();
            if (changes.contains(MeshChange.POOLS)) routing.failClosed(pools());
            if (changes.contains(MeshChange.POOLS) || changes.contains(MeshChange.PERSISTENT_KEEPALIVE)
                    || changes.contains(MeshChange.DATAPATH) || changes.contains(MeshChange.PRESHARED_KEYS)) {
                String failure = syncPeers();
                if (failure != null) throw new IOException("peers and routes not updated: " + failure);
            }
            if (switched) egress.reassert(); // the policy routes through the old interface went with it
            if (changes.contains(MeshChange.POOLS) || changes.contains(MeshChange.EGRESS) || changes.contains(MeshChange.DATAPATH)) {
                applyEgress(); // the watchdog retries it
            }
            appliedSpec = after;
            Long previous = appliedGeneration;
            appliedGeneration = generation;
            try {
                publishStatus(true, "Configured", readyMessage);
            } catch (RuntimeException e) {
                appliedGeneration = previous; // not published: retried
                throw e;
            }
            pendingMesh = null;
            lastMeshProblem = null;
            System.err.println("wiremesh node-daemon: applied mesh generation " + generation + " " + changes);
        } catch (IOException | RuntimeException e) {
            reportMeshProblem("MeshChangeNotApplied", "generation " + generation + " of WireGuardMesh " + mesh + " not (fully)"
                    + " applied, retrying every second: " + e.getMessage());
        }
    }

    /**
     * Moves the interface to the implementation {@code after.datapath} picks on this node, when that is
     * not the one driving it now ({@code auto} on a kernel node is the kernel already): the other
     * implementation's interface is removed and the new one made ({@link Datapaths#takeOver}); the
     * fail-closed routes refuse pod traffic for the mesh until the new interface has its peers and
     * routes. The kernel's is configured at once; a userspace process standing by creates its TUN
     * within about a second and is configured by the caller's retry.
     *
     * @return true when the implementation changed
     * @throws Datapaths.Unavailable when the kernel module is asked for and missing (nothing is changed)
     */
    private boolean switchDatapath(WireGuardMeshSpec after) throws IOException {
        WireGuardDevice next = Datapaths.choose(after.datapath, ifname);
        if (next.kind().equals(device.kind())) {
            next.close();
            return false;
        }
        String from = device.kind();
        try {
            Datapaths.takeOver(next, ifname, Datapaths.UAPI_DIR);
        } catch (IOException | RuntimeException e) {
            next.close();
            // The owner may already say the new one (towards the kernel it is recorded before the TUN goes): put it back.
            try {
                Datapaths.owner(device.current()).record(Datapaths.UAPI_DIR, ifname);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        device.switchTo(next);
        peerSync.invalidate();
        System.err.println("wiremesh node-daemon: spec.datapath is " + MeshChange.datapath(after) + ": " + ifname + " moved from the "
                + from + " datapath to the " + next.kind() + " one; pod traffic for the mesh is refused until its peers are set");
        return true;
    }

    /** Ready False with the reason, once per distinct problem (the watchdog retries every second). */
    private void reportMeshProblem(String reason, String message) {
        if (message.equals(lastMeshProblem)) return;
        System.err.println("wiremesh node-daemon: " + message);
        try {
            publishStatus(false, reason, message);
            lastMeshProblem = message;
        } catch (RuntimeException e) {
            System.err.println("wiremesh node-daemon: cannot write the status: " + e.getMessage());
        }
    }

    /**
     * Masquerade table and policy routes to other nodes' addresses, from the mesh spec and its nodes.
     * Independent of the peers: it must hold even while the datapath is absent (the unreachable routes).
     */
    private synchronized void applyEgress() {
        MeshWatch w0 = watch;
        if (w0 == null) return;
        WireGuardNode me = null;
        List<WireGuardNode> members = w0.members();
        for (WireGuardNode w : members) if (w.getSpec() != null && node.equals(w.getSpec().nodeName)) me = w;
        if (me == null) return; // membership is ending: the end-of-membership action removes it all
        try {
            EgressPlan plan = EgressPlan.of(meshSpec, me, members);
            if (!plan.rejected().isEmpty() && !plan.rejected().equals(lastRejected)) {
                System.err.println("wiremesh node-daemon: left out of the egress rules: " + plan.rejected());
            }
            lastRejected = plan.rejected();
            if (egress.apply(plan)) {
                System.err.println("wiremesh node-daemon: " + (plan.masquerade() ? "masquerading " + plan.sources() + " except towards " + plan.inMesh()
                        : "egress masquerade off (spec.egress.masquerade: false)") + "; peer node addresses through the tunnel: " + plan.remoteNodes());
            }
            egressPending = false;
        } catch (IOException | RuntimeException e) {
            egressPending = true;
            System.err.println("wiremesh node-daemon: egress rules not (fully) applied, retrying: " + e.getMessage());
        }
    }

    private List<String> lastRejected = List.of();
    /** Watchdog ticks (seconds) between comparisons of the egress state with the kernel. */
    static final int EGRESS_RECHECK_TICKS = 10;

    /** Removes the masquerade table and the policy routes (the end of this node's membership). */
    public void removeEgress() throws IOException {
        egress.remove();
    }

    /**
     * What to do once this node's own WireGuardNode is deleted (its mesh was deleted, or the node left
     * it), after peers and routes are gone: the node's blocks are no longer its own.
     */
    public void onMembershipEnded(Runnable action) {
        onMembershipEnded = action;
    }

    /** The WireGuard interface's MTU (known after {@link #start()}); pods get the same, so they never exceed the tunnel. */
    public int mtu() {
        return mtu;
    }

    /** The preshared key (base64) from the Secret a WireGuardPeer names, or null for none. */
    private String presharedKey(io.wiremesh.api.v1alpha1.WireGuardPeerSpec spec) {
        if (spec == null || spec.presharedKeySecretRef == null) return null;
        var ref = spec.presharedKeySecretRef;
        var secret = client.secrets().inNamespace(ref.namespace).withName(ref.name).get();
        String field = ref.key == null ? "presharedKey" : ref.key;
        if (secret == null || secret.getData() == null || !secret.getData().containsKey(field)) {
            throw new IllegalStateException("Secret " + ref.namespace + "/" + ref.name + " has no key " + field);
        }
        return new String(java.util.Base64.getDecoder().decode(secret.getData().get(field)), java.nio.charset.StandardCharsets.US_ASCII).trim();
    }

    /** Public key -> node name of the current peers (for metrics labels). */
    public Map<String, String> nodeByKey() {
        return nodeByKey;
    }

    public WireGuardDevice device() {
        return device;
    }

    /** Ready once the interface is configured and every watch has listed. */
    public boolean ready() {
        MeshWatch w = watch;
        return w != null && w.complete() && device.configured();
    }

    /**
     * Something on this node, outside the mesh, that keeps pods from being wired there (e.g. the IPAM
     * state cannot be read): it replaces a Ready True condition with False, this reason and message.
     */
    public record NodeProblem(String reason, String message) {}

    /** Where the node's problems come from (asked every second; null: none). */
    public void nodeProblems(java.util.function.Supplier<NodeProblem> problems) {
        nodeProblems = problems;
    }

    private synchronized void publishStatus(boolean ready, String reason, String message) {
        NodeProblem problem = nodeProblems.get();
        lastNodeProblem = problem;
        lastReady = ready;
        lastReason = reason;
        lastMessage = message;
        if (ready && problem != null) status.publish(false, problem.reason(), problem.message(), listenPort, device == null ? null : device.kind(), appliedGeneration);
        else status.publish(ready, reason, message, listenPort, device == null ? null : device.kind(), appliedGeneration);
    }

    /** What {@link #publishStatus} was last asked to write (null before the first write): what a rewrite repeats. */
    private Boolean lastReady;
    private String lastReason, lastMessage;

    /** Writes the last published status again (its proposal over one someone else wrote). */
    private synchronized void republishStatus() {
        if (lastReady == null) return;
        try {
            publishStatus(lastReady, lastReason, lastMessage);
        } catch (RuntimeException e) {
            proposalOverwritten = true; // retried at the next interval
            System.err.println("wiremesh node-daemon: cannot write this node's status (retried in " + PROPOSAL_REWRITE_INTERVAL.toSeconds() + " s): "
                    + e.getMessage());
        }
    }

    /** The preshared-key exchange with the other nodes (for metrics), or null when there is none. */
    public PresharedKeyExchange presharedKeys() {
        return exchange;
    }

    /**
     * Stops watching and retrying, and returns once nothing of this agent writes to the node any more (at most
     * about 2 s for a watchdog pass in progress): what the stopping daemon decides next (keep or uninstall the
     * node's state) must not be undone by a late pass. The interface, peers and routes stay as they are.
     */
    @Override
    public void close() {
        closed = true;
        if (watchdog != null) {
            watchdog.interrupt();
            try {
                watchdog.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (exchange != null) exchange.close();
        if (watch != null) watch.close();
        synchronized (this) {
            // A sync() from a watch event in progress has finished; later ones return at once (closed).
        }
    }
}
