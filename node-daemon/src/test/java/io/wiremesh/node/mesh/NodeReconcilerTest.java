package io.wiremesh.node.mesh;

import static io.wiremesh.node.mesh.NodePlanTest.member;
import static io.wiremesh.node.mesh.NodePlanTest.mesh;
import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.node.egress.EgressPlan;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.mesh.NodeReconciler.Outcome;
import io.wiremesh.node.mesh.NodeReconciler.Step;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.node.wg.WireGuardDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node agent's reconcile pass against in-memory ports (no root, no cluster): the order of the steps,
 * that an unchanged plan writes nothing, and every step's failure and recovery as the Ready condition and
 * status.observedMeshGeneration show them.
 */
class NodeReconcilerTest {
    /** Everything the ports were asked to do, in order. */
    private final List<String> events = new ArrayList<>();
    private final Map<String, Device> devices = new LinkedHashMap<>();
    private final Routes routes = new Routes();
    private final Egress egress = new Egress();
    private final Status status = new Status();
    private final Ports datapaths = new Ports();
    private NodeReconciler reconciler;
    private NodeKey key;
    private long now;

    @TempDir
    Path state;

    @BeforeEach
    void reconciler() throws IOException {
        key = NodeKey.loadOrCreate(state);
        devices.put("kernel", new Device("kernel"));
        devices.put("userspace", new Device("userspace"));
        reconciler = new NodeReconciler("m", "wm0", "eth0", key, 1, null, datapaths, routes, egress, status, g -> NodeKey.rotate(state, g), null,
                s -> null, () -> now);
    }

    private static NodePlan plan(WireGuardMesh mesh, WireGuardNode... members) {
        return NodePlan.of(NodePlanTest.inputs(mesh, List.of(members), true));
    }

    private Outcome pass(NodePlan plan) {
        now += 1_000_000_000L;
        return reconciler.pass(plan, null, false);
    }

    @Test
    void theFirstPassRunsEveryStepInSecurityOrder() {
        Outcome o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.passed()).as(o.failures().toString()).isTrue();
        assertThat(o.observedGeneration()).isEqualTo(1);
        assertThat(events).containsExactly("failClosed [10.42.0.0/16]", "choose AUTO", "takeOver kernel", "owner kernel",
                "kernel configure 51820", "setUp 1420 [10.42.1.1]", "kernel set KEY2", "answers", "preferSource [198.18.0.1]", "route [10.42.2.0/24]",
                "reassert", "egress", "publish true Configured 51820 kernel 1"); // a new interface: egress compared with the kernel
        assertThat(status.key).isEqualTo(key.publicKeyBase64());
        assertThat(reconciler.nodeByKey()).containsEntry("KEY2", "n2");
    }

    @Test
    void anUnchangedPlanWritesNothingButTheFailClosedRoutes() {
        NodePlan p = plan(mesh(1), member(1), member(2));
        pass(p);
        events.clear();
        assertThat(pass(p).passed()).isTrue();
        assertThat(events).containsExactly("failClosed [10.42.0.0/16]", "preferSource [198.18.0.1]", "route [10.42.2.0/24]", "egress");
    }

    @Test
    void aDatapathNotUpYetIsWaitedForWithTheMeshFailClosedAndEgressInPlace() {
        devices.get("kernel").up = false;
        Outcome o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.failures()).containsKeys(Step.INTERFACE, Step.MTU, Step.PEERS);
        assertThat(o.failures()).doesNotContainKeys(Step.FAIL_CLOSED, Step.EGRESS, Step.STATUS);
        assertThat(status.last).startsWith("publish false WaitingForDatapath").endsWith("null");
        assertThat(events).contains("failClosed [10.42.0.0/16]", "egress");

        devices.get("kernel").up = true;
        o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.passed()).isTrue();
        assertThat(status.last).isEqualTo("publish true Configured 51820 kernel 1");
    }

    @Test
    void aDatapathTheNodeCannotHaveIsReportedAndNothingNeedingItRuns() {
        datapaths.unavailable = "spec.datapath is kernel but this node has no WireGuard kernel module";
        WireGuardMesh m = mesh(1);
        m.getSpec().datapath = Datapath.KERNEL;
        Outcome o = pass(plan(m, member(1)));
        assertThat(o.failures().keySet().iterator().next()).isEqualTo(Step.DATAPATH);
        assertThat(status.last).startsWith("publish false DatapathUnavailable");
        assertThat(reconciler.device()).isNull();
        assertThat(events).noneMatch(e -> e.contains("configure") || e.contains(" set "));
        assertThat(events.getFirst()).startsWith("failClosed");
    }

    @Test
    void aPortInUseHoldsTheGenerationBackButNotThePeersThenAppliesOnceFree() {
        pass(plan(mesh(1), member(1), member(2)));
        devices.get("kernel").portsInUse.add(51830);
        WireGuardMesh edit = mesh(2);
        edit.getSpec().listenPort = 51830;
        Outcome o = pass(plan(edit, member(1), member(2), member(3)));
        assertThat(o.failures()).containsOnlyKeys(Step.INTERFACE);
        assertThat(status.last).startsWith("publish false MeshChangeNotApplied").contains("51820 kernel 1");
        assertThat(status.message).contains("generation 2 of WireGuardMesh m").contains("51830 in use");
        assertThat(events).as("a new member is a peer all the same").contains("kernel set KEY3");

        devices.get("kernel").portsInUse.clear();
        o = pass(plan(edit, member(1), member(2), member(3)));
        assertThat(o.passed()).isTrue();
        assertThat(status.last).isEqualTo("publish true Configured 51830 kernel 2");
    }

    @Test
    void aRotationStoresTheKeyThenSetsItThenThePeersThenPublishes() throws IOException {
        pass(plan(mesh(1), member(1), member(2)));
        events.clear();
        WireGuardNode me = member(1);
        me.getSpec().keyGeneration = 2L;
        assertThat(pass(plan(mesh(1), me, member(2))).passed()).isTrue();
        NodeKey stored = NodeKey.loadOrCreate(state);
        assertThat(stored.publicKeyBase64()).isNotEqualTo(key.publicKeyBase64());
        assertThat(devices.get("kernel").privateKey).isEqualTo(Base64.getEncoder().encodeToString(stored.privateKeyForDevice()));
        assertThat(events).containsSubsequence("kernel configure 51820", "publish true Configured 51820 kernel 1");
        assertThat(status.key).isEqualTo(stored.publicKeyBase64());
        assertThat(status.keyGeneration).isEqualTo(2);
        events.clear();
        pass(plan(mesh(1), me, member(2)));
        assertThat(events).as("rotated once").noneMatch(e -> e.contains("configure"));
    }

    @Test
    void aSwitchOfDatapathMovesTheInterfaceAndWritesEverythingAgain() {
        pass(plan(mesh(1), member(1), member(2)));
        events.clear();
        WireGuardMesh edit = mesh(2);
        edit.getSpec().datapath = Datapath.USERSPACE;
        Outcome o = pass(plan(edit, member(1), member(2)));
        assertThat(o.passed()).as(o.failures().toString()).isTrue();
        assertThat(events).containsSubsequence("choose USERSPACE", "takeOver userspace", "owner userspace", "userspace configure 51820",
                "setUp 1420 [10.42.1.1]", "userspace set KEY2", "reassert", "egress", "publish true Configured 51820 userspace 2");
    }

    @Test
    void aRefusedSwitchKeepsTheOldDatapathAndItsOwner() {
        pass(plan(mesh(1), member(1), member(2)));
        datapaths.takeOverFails = true;
        WireGuardMesh edit = mesh(2);
        edit.getSpec().datapath = Datapath.USERSPACE;
        Outcome o = pass(plan(edit, member(1), member(2)));
        assertThat(o.failures()).containsOnlyKeys(Step.DATAPATH);
        assertThat(events.subList(events.size() - 6, events.size())).contains("owner kernel");
        assertThat(reconciler.device().kind()).isEqualTo("kernel");
        assertThat(status.last).startsWith("publish false MeshChangeNotApplied").endsWith("kernel 1");
    }

    @Test
    void aRestartedDatapathIsConfiguredAndGivenItsPeersAgain() {
        pass(plan(mesh(1), member(1), member(2)));
        devices.get("kernel").restart();
        events.clear();
        assertThat(pass(plan(mesh(1), member(1), member(2))).passed()).isTrue();
        assertThat(events).containsSubsequence("kernel configure 51820", "setUp 1420 [10.42.1.1]", "kernel set KEY2", "reassert");
    }

    @Test
    void theEndOfMembershipRemovesPeersAndRoutesAndWritesNoStatus() {
        pass(plan(mesh(1), member(1), member(2)));
        events.clear();
        Outcome o = pass(plan(mesh(1), member(2)));
        assertThat(o.passed()).isTrue();
        assertThat(events).contains("kernel remove KEY2", "route []").noneMatch(e -> e.startsWith("publish") || e.equals("egress"));
    }

    @Test
    void aStatusNotWrittenDoesNotMoveTheObservedGeneration() {
        status.fail = true;
        Outcome o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.failures()).containsOnlyKeys(Step.STATUS);
        assertThat(o.observedGeneration()).isNull();
        status.fail = false;
        o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.failures()).as("a refused write is tried again 5 s later, not every pass").containsOnlyKeys(Step.STATUS);
        assertThat(status.writes).isZero();
        now += NodeReconciler.STATUS_RETRY_NANOS;
        o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.observedGeneration()).isEqualTo(1);
        assertThat(status.last).isEqualTo("publish true Configured 51820 kernel 1");
    }

    @Test
    void aKernelLinkMadeDownIsBroughtUpByTheMtuStepAndThenUsed() {
        assertThat(pass(plan(mesh(1), member(1), member(2))).passed()).isTrue();
        assertThat(devices.get("kernel").linkUp).isTrue();
        assertThat(events).containsSubsequence("kernel configure 51820", "setUp 1420 [10.42.1.1]", "kernel set KEY2");
        devices.get("kernel").linkUp = false; // someone set it down
        events.clear();
        assertThat(pass(plan(mesh(1), member(1), member(2))).passed()).isTrue();
        assertThat(events).contains("setUp 1420 [10.42.1.1]");
    }

    @Test
    void aRotatedKeyReachesTheInterfaceOnItsOldPortWhileTheNewPortIsTaken() {
        pass(plan(mesh(1), member(1), member(2)));
        devices.get("kernel").portsInUse.add(51830);
        WireGuardMesh edit = mesh(2);
        edit.getSpec().listenPort = 51830;
        WireGuardNode me = member(1);
        me.getSpec().keyGeneration = 2L;
        Outcome o = pass(plan(edit, me, member(2)));
        assertThat(o.failures()).containsOnlyKeys(Step.INTERFACE);
        assertThat(events).contains("kernel configure 51820");
        assertThat(status.key).as("the new key, on the interface and its peers set, is published").isNotEqualTo(key.publicKeyBase64());
        assertThat(status.last).contains("51820 kernel 1");
    }

    @Test
    void aRotatedKeyIsNotPublishedBeforeThePeersAreSet() {
        pass(plan(mesh(1), member(1), member(2)));
        devices.get("kernel").failWrites = true;
        WireGuardNode me = member(1);
        me.getSpec().keyGeneration = 2L;
        Outcome o = pass(plan(mesh(1), me, member(2), member(3))); // a peer to write in the same pass, refused
        assertThat(o.failures()).containsKey(Step.PEERS);
        assertThat(status.key).isEqualTo(key.publicKeyBase64());
        devices.get("kernel").failWrites = false;
        now += NodeReconciler.STATUS_RETRY_NANOS;
        assertThat(pass(plan(mesh(1), me, member(2), member(3))).passed()).isTrue();
        assertThat(status.key).isNotEqualTo(key.publicKeyBase64());
    }

    @Test
    void aKeyThatCannotBeStoredHasItsOwnReasonAndLeavesTheInterfaceAlone() {
        pass(plan(mesh(1), member(1), member(2)));
        NodeReconciler r = new NodeReconciler("m", "wm0", "eth0", key, 1, 1L, datapaths, routes, egress, status,
                g -> { throw new IOException("read-only file system"); }, null, x -> null, () -> now);
        WireGuardNode me = member(1);
        me.getSpec().keyGeneration = 2L;
        Outcome o = r.pass(plan(mesh(1), me, member(2)), null, false);
        assertThat(o.failures().keySet().iterator().next()).isEqualTo(Step.KEY);
        assertThat(status.last).startsWith("publish false KeyNotStored");
    }

    @Test
    void aRestartKeepsThePublishedGenerationUntilAPassAppliesTheCurrentOne() {
        NodeReconciler r = new NodeReconciler("m", "wm0", "eth0", key, 1, 1L, datapaths, routes, egress, status, null, null, x -> null, () -> now);
        devices.get("kernel").up = false;
        r.pass(plan(mesh(1), member(1), member(2)), null, false);
        assertThat(status.last).startsWith("publish false WaitingForDatapath").endsWith("kernel 1");
    }

    @Test
    void egressThatFailsIsReportedAndRetried() {
        egress.fail = "nft: command not found";
        Outcome o = pass(plan(mesh(1), member(1), member(2)));
        assertThat(o.failures()).containsOnlyKeys(Step.EGRESS);
        assertThat(status.last).startsWith("publish false EgressNotApplied");
        assertThat(status.message).contains("nft");
        egress.fail = null;
        assertThat(pass(plan(mesh(1), member(1), member(2))).passed()).isTrue();
        assertThat(status.last).isEqualTo("publish true Configured 51820 kernel 1");
    }

    @Test
    void aNodeProblemReplacesReadyAndItsEndIsPublished() {
        NodePlan p = plan(mesh(1), member(1), member(2));
        reconciler.pass(p, new NodeReconciler.NodeProblem("IpamStateUnreadable", "ipam.json is not JSON"), false);
        assertThat(status.last).startsWith("publish false IpamStateUnreadable");
        reconciler.pass(p, null, false);
        assertThat(status.last).isEqualTo("publish true Configured 51820 kernel 1");
    }

    @Test
    void theSameStatusIsWrittenAgainOnlyWhenARewriteIsAsked() {
        NodePlan p = plan(mesh(1), member(1), member(2));
        pass(p);
        int writes = status.writes;
        reconciler.pass(p, null, false);
        assertThat(status.writes).isEqualTo(writes);
        reconciler.pass(p, null, true);
        assertThat(status.writes).isEqualTo(writes + 1);
    }

    @Test
    void aHungDatapathIsAskedOnceAPassAndNamedWhileEverythingElseGoesOn() {
        pass(plan(mesh(1), member(1), member(2)));
        Device kernel = devices.get("kernel");
        kernel.hung = true;
        events.clear();
        Outcome o = pass(plan(mesh(1), member(1), member(2), member(3)));
        assertThat(o.passed()).isFalse();
        assertThat(kernel.hungCalls).as("one call times out; nothing more is asked of it this pass").isEqualTo(1);
        assertThat(status.last).startsWith("publish false DatapathUnresponsive");
        assertThat(status.message).contains("did not answer").contains("wm0.sock");
        assertThat(events).as("what needs no datapath still runs").contains("failClosed [10.42.0.0/16]", "egress");
        assertThat(events).as("marked for its liveness probe").containsOnlyOnce("hangs");
        events.clear();
        pass(plan(mesh(1), member(1), member(2), member(3)));
        assertThat(events).as("marked again at every pass that meets it: a restarted container removes the mark").containsOnlyOnce("hangs");

        kernel.hung = false;
        o = pass(plan(mesh(1), member(1), member(2), member(3)));
        assertThat(o.passed()).as(o.failures().toString()).isTrue();
        assertThat(events).contains("kernel set KEY3").containsOnlyOnce("answers");
        events.clear();
        pass(plan(mesh(1), member(1), member(2), member(3)));
        assertThat(events).as("after a hang, key and port are written again: requests queued in the hung process may land late")
                .contains("kernel configure 51820");
        assertThat(status.last).isEqualTo("publish true Configured 51820 kernel 1");
    }

    @Test
    void aClosedReconcilerWritesNothing() {
        reconciler.close();
        pass(plan(mesh(1), member(1), member(2)));
        assertThat(events).isEmpty();
    }

    /** An interface in memory: up or not (a userspace process not running), ports another process holds. */
    final class Device implements WireGuardDevice {
        final String kind;
        final Map<String, PeerState> peers = new LinkedHashMap<>();
        final Set<Integer> portsInUse = new java.util.HashSet<>();
        boolean up = true;
        /** A kernel link is made down; the MTU step (setUp) brings it up. A userspace TUN is up once its process runs. */
        boolean linkUp;
        boolean failWrites;
        /** Accepts and never answers: every call times out (a hung userspace process). */
        boolean hung;
        int hungCalls;
        String privateKey;

        Device(String kind) {
            this.kind = kind;
        }

        private void answer() throws IOException {
            if (hung) {
                hungCalls++;
                throw new io.wiremesh.node.wg.DatapathUnresponsive("the datapath at /run/wireguard/wm0.sock did not answer the UAPI request 'get=1'"
                        + " within 5 s: it hangs");
            }
        }

        void restart() {
            privateKey = null;
            linkUp = false;
            peers.clear();
        }

        @Override public String kind() { return kind; }

        @Override
        public void configure(byte[] key, int port) throws IOException {
            answer();
            if (!up) throw new IOException("no UAPI socket: the " + kind + " datapath is not running");
            if (portsInUse.contains(port)) throw new IOException("port " + port + " in use");
            if (privateKey == null) linkUp = kind.equals("userspace");
            privateKey = Base64.getEncoder().encodeToString(key);
            events.add(kind + " configure " + port);
        }

        @Override public boolean configured() { return up && privateKey != null && linkUp; }

        @Override
        public void upsertPeer(PeerConfig p, PeerState current) throws IOException {
            answer();
            if (!up || failWrites) throw new IOException("not running");
            events.add(kind + " set " + p.publicKey());
            peers.put(p.publicKey(), PeerSync.written(p, current));
        }

        @Override
        public void removePeer(String publicKey) {
            events.add(kind + " remove " + publicKey);
            peers.remove(publicKey);
        }

        @Override
        public List<PeerState> peers() throws IOException {
            answer();
            if (!up) throw new IOException("not running");
            return List.copyOf(peers.values());
        }
    }

    final class Ports implements NodePorts.DatapathPort {
        String unavailable;
        boolean takeOverFails;

        @Override
        public WireGuardDevice choose(Datapath wanted) throws IOException {
            events.add("choose " + wanted);
            if (unavailable != null) throw new Datapaths.Unavailable(unavailable);
            return devices.get(wanted == Datapath.USERSPACE ? "userspace" : "kernel");
        }

        @Override
        public boolean takeOver(WireGuardDevice device) throws IOException {
            events.add("takeOver " + device.kind());
            if (takeOverFails) throw new Datapaths.Unavailable("a link named wm0 of kind veth exists");
            return false;
        }

        @Override
        public void recordOwner(WireGuardDevice device) {
            events.add("owner " + device.kind());
        }

        @Override
        public void unresponsive(String reason) {
            events.add(reason == null ? "answers" : "hangs");
        }
    }

    final class Routes implements NodePorts.RoutePort {
        @Override public void route(Set<Cidr> blocks) { events.add("route " + new java.util.TreeSet<>(blocks)); }
        @Override public void failClosed(List<Cidr> pools) { events.add("failClosed " + pools); }
        @Override
        public void setUp(List<String> addresses, int mtu, List<Cidr> pools) {
            events.add("setUp " + mtu + " " + addresses);
            devices.values().forEach(d -> d.linkUp |= d.privateKey != null);
        }
        @Override public void preferSource(List<String> addresses) { events.add("preferSource " + addresses); }
    }

    final class Egress implements NodePorts.EgressPort {
        String fail;

        @Override
        public boolean apply(EgressPlan plan) throws IOException {
            if (fail != null) throw new IOException(fail);
            events.add("egress");
            return false;
        }

        @Override public void reassert() { events.add("reassert"); }
    }

    final class Status implements NodePorts.StatusPort {
        String key, last, message;
        long keyGeneration;
        int writes;
        boolean fail;

        @Override
        public void key(String publicKey, long generation, Instant created) {
            key = publicKey;
            keyGeneration = generation;
        }

        @Override
        public void publish(boolean ready, String reason, String message, int listenPort, String datapath, Long observed) {
            if (fail) throw new IllegalStateException("the API server refused");
            writes++;
            this.message = message;
            last = "publish " + ready + " " + reason + " " + listenPort + " " + datapath + " " + observed;
            events.add(last);
        }
    }
}
