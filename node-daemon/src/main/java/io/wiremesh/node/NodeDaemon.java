package io.wiremesh.node;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.node.cni.CniInstaller;
import io.wiremesh.node.cni.CniRepair;
import io.wiremesh.node.cni.CniServer;
import io.wiremesh.node.cni.NetworkConfigDir;
import io.wiremesh.node.cni.PodNetwork;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.mesh.MeshAgent;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.node.egress.Conntrack;
import io.wiremesh.node.egress.Nft;
import io.wiremesh.node.mesh.MeshRouting;
import io.wiremesh.node.mesh.NodeAddressRouting;
import io.wiremesh.node.mesh.NodeEgress;
import io.wiremesh.node.netlink.Netlink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import io.wiremesh.node.metrics.StatusServer;
import io.wiremesh.api.cni.CniErrorCode;
import io.wiremesh.node.cni.CniException;
import io.wiremesh.node.policy.PolicyAgent;
import io.wiremesh.node.policy.PolicyPlan;
import io.wiremesh.node.policy.PolicyTable;

/**
 * The node-daemon's process: starts what a node runs (in a mesh: the node agent, {@link MeshAgent}, and the
 * NetworkPolicy agent, {@link PolicyAgent}; then the CNI
 * socket, the plugin and its configuration, their repair, /healthz, /readyz and /metrics), in that order so
 * that nothing offers pod networking before the mesh is fail-closed and configured; closes it in reverse order on
 * SIGTERM; and then decides whether wiremesh leaves the node ({@link #stopped}). The end of the node's membership
 * (its WireGuardNode deleted) removes the CNI configuration and the egress rules and exits with status 3: the
 * restarted daemon waits for a new membership.
 */
public final class NodeDaemon {
    /** How long the CNI entry points may stay unrepairable before /healthz asks for a restart (e.g. a host directory removed under its mount). */
    static final Duration CNI_REPAIR_GIVE_UP = Duration.ofSeconds(30);
    static final Path DEFAULT_CNI_CONF_DIR = Path.of("/etc/cni/net.d");

    /**
     * What the daemon is told (the command line, {@link Main}).
     *
     * @param podCidrs      the node's blocks when it runs without a mesh (pods only); empty in a mesh
     * @param mesh          the WireGuardMesh, or null (pods only)
     * @param nodeName      the Node's name (in a mesh)
     * @param nodeIp        the node address other nodes reach it at (in a mesh)
     * @param ifname        the WireGuard interface's name
     * @param mtu           the pods' MTU without a mesh (in a mesh: the WireGuard interface's)
     * @param statusAddress host:port of /healthz, /readyz, /metrics
     * @param cniBinDir     where to install the plugin (null: not installed), with cniConfDir, cniRuntime and cniJar
     * @param procSysNet    the node's net sysctls (in a container: a mount of the host's)
     * @param daemonSet     the DaemonSet running this daemon (null: not run by one)
     * @param networkPolicy whether to enforce NetworkPolicy (in a mesh: needs the API)
     */
    public record Options(List<Cidr> podCidrs, Path state, Path socket, int mtu, String mesh, String nodeName, String nodeIp, String ifname,
                         String statusAddress, Path cniBinDir, Path cniConfDir, Path cniRuntime, Path cniJar, Path procSysNet, String daemonSet,
                         boolean networkPolicy, boolean cniExclusive) {}

    private final Options config;

    public NodeDaemon(Options config) {
        this.config = config;
    }

    /** Runs until SIGTERM (or the end of membership, which exits the process). */
    public void run() throws Exception {
        List<Cidr> blocks = new ArrayList<>(config.podCidrs());
        Path cniBinDir = config.cniBinDir(), cniConfDir = config.cniConfDir(), cniRuntime = config.cniRuntime(), cniJar = config.cniJar();
        Path state = config.state(), socket = config.socket(), procSys = config.procSysNet();
        String mesh = config.mesh(), nodeName = config.nodeName(), nodeIp = config.nodeIp(), ifname = config.ifname();
        String statusAddress = config.statusAddress(), daemonSet = config.daemonSet();
        int mtu = config.mtu();
        // What runs, closed in reverse order on SIGTERM; then, in a pod, whether wiremesh leaves the node. In this
        // process rather than a preStop hook: a second JVM in the container would need its memory too (and start slowly).
        List<AutoCloseable> running = new CopyOnWriteArrayList<>();
        AtomicBoolean membershipEnded = new AtomicBoolean(); // state already removed: nothing to decide
        // Held while starting puts something on the node, and by the stop: nothing is installed once stopping began.
        Object lifecycle = new Object();
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        String ownDaemonSet = daemonSet;
        Path ownConfDir = cniConfDir != null ? cniConfDir : DEFAULT_CNI_CONF_DIR;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (lifecycle) {
                stopping.set(true);
            }
            for (int i = running.size() - 1; i >= 0; i--) {
                try {
                    running.get(i).close();
                } catch (Exception e) {
                    System.err.println("wiremesh node-daemon: stopping: " + e);
                }
            }
            if (ownDaemonSet != null && !membershipEnded.get()) stopped(ownDaemonSet, ownConfDir);
            done.countDown();
        }, "wiremesh-stop"));
        NodeKey key = NodeKey.loadOrCreate(state);
        // Pods are routed through this node: forwarding must be on in the node's namespace.
        Files.writeString(procSys.resolve("ipv4/ip_forward"), "1");
        if (Files.exists(procSys.resolve("ipv6/conf/all/forwarding"))) Files.writeString(procSys.resolve("ipv6/conf/all/forwarding"), "1");
        Netlink netlink = Netlink.open();

        MeshAgent agent = null;
        Ipam ipam = null;
        KubernetesClient client = null;
        if (mesh != null) {
            // Until this daemon has chosen (after it has its membership), a datapath starting now must wait.
            io.wiremesh.wireguard.uapi.InterfaceOwner.forget(Datapaths.UAPI_DIR, ifname);
            client = new KubernetesClientBuilder().build();
            // The ML-KEM key pair for the post-quantum preshared keys between nodes: on disk next to the WireGuard key.
            // The signing identity: the operator accepts it on first use; later keys and endpoints need its signature.
            io.wiremesh.node.keys.NodeIdentity identity = io.wiremesh.node.keys.NodeIdentity.loadOrCreate(state);
            System.err.println("wiremesh node-daemon: identity " + identity.fingerprint() + " (" + state.resolve(io.wiremesh.node.keys.NodeIdentity.FILE) + ")");
            NodeEgress egress = new NodeEgress(new NodeAddressRouting(Netlink.open(), ifname), Nft.onThisSystem(), Conntrack.onThisSystem(), ifname);
            agent = new MeshAgent(client, mesh, nodeName, key, io.wiremesh.node.keys.KemKey.loadOrCreate(state), identity, state, ifname,
                    new MeshRouting(Netlink.open(), ifname, procSys),
                    egress, nodeIp);
            running.add(agent);
            Path confDir = cniConfDir;
            String membership = WireGuardNode.nameFor(mesh, nodeName);
            agent.onMembershipEnded(() -> {
                // Pods must not be wired into blocks that may be handed to another node: stop offering the
                // network (no conflist: the kubelet reports it not ready), then exit; the restarted daemon
                // waits for a new membership.
                System.err.println("wiremesh node-daemon: " + membership + " was deleted (mesh deleted, or node no longer selected);"
                        + " peers and routes removed, exiting to wait for a new membership");
                synchronized (lifecycle) { // first: nothing may install again (or put back) what is removed below
                    membershipEnded.set(true);
                    stopping.set(true);
                }
                try {
                    if (confDir != null) CniInstaller.uninstall(confDir);
                } catch (IOException e) {
                    System.err.println("wiremesh node-daemon: could not remove the CNI configuration: " + e.getMessage());
                }
                try {
                    egress.remove(); // the blocks and peers it names are no longer this node's
                } catch (IOException e) {
                    System.err.println("wiremesh node-daemon: could not remove the masquerade table or policy routes: " + e.getMessage());
                }
                // Not on the informer's thread: the shutdown hook closes that informer.
                Thread.ofPlatform().start(() -> System.exit(3));
            });
            WireGuardNode self = agent.awaitMembership(Duration.ofMinutes(5));
            if (self.getSpec().identity != null && !identity.fingerprint().equals(self.getSpec().identity.fingerprint)) {
                System.err.println("wiremesh node-daemon: this node's identity " + identity.fingerprint() + " is not the one accepted for it ("
                        + self.getSpec().identity.fingerprint + "): the other nodes keep its previous key, so its pods are unreachable, until"
                        + " an admin who has compared this fingerprint runs `wiremesh node approve " + nodeName + " " + identity.fingerprint()
                        + " --mesh " + mesh + "` (or its Node object is re-created)");
            }
            blocks = self.getSpec().podCIDRs.stream().map(Cidr::parse).toList();
            // Before the first status write: an unreadable IPAM state is in the first Ready condition already.
            Ipam memberIpam = new Ipam(state.resolve("ipam.json"), blocks);
            ipam = memberIpam;
            agent.nodeProblems(() -> nodeProblem(memberIpam, null));
            synchronized (lifecycle) {
                if (!stopping.get()) agent.start();
            }
            if (stopping.get()) {
                done.await(); // outside the lock: the stop takes it
                return;
            }
            mtu = agent.mtu();
        }
        if (ipam == null) ipam = new Ipam(state.resolve("ipam.json"), blocks);
        if (ipam.problem() != null) System.err.println("wiremesh node-daemon: " + ipam.problem());
        // In a mesh, new pods get the WireGuard interface's MTU as it is at their ADD (a mesh edit may change it).
        int fixedMtu = mtu;
        java.util.function.IntSupplier podMtu = agent == null ? () -> fixedMtu : agent::mtu;
        PodNetwork.Coverage coverage = PodNetwork.Coverage.NONE;
        PolicyAgent policy = null;
        if (config.networkPolicy() && client != null) {
            Ipam podsHere = ipam;
            policy = new PolicyAgent(client, () -> localPods(podsHere), Nft.onThisSystem(), ifname);
            synchronized (lifecycle) {
                if (!stopping.get()) {
                    policy.start();
                    running.add(policy);
                }
            }
            coverage = coverage(policy);
        }
        CniServer server = CniServer.start(new PodNetwork(ipam, netlink, podMtu, procSys, coverage), socket);
        running.add(server);
        CniInstaller installer = null;
        if (cniBinDir != null && cniConfDir != null && cniRuntime != null && cniJar != null) {
            installer = new CniInstaller(cniRuntime, cniJar, cniBinDir, cniConfDir);
            synchronized (lifecycle) {
                if (!stopping.get()) {
                    Path conflist = installer.install(socket, mtu);
                    System.err.println("wiremesh node-daemon: installed the CNI plugin into " + cniBinDir + " and " + conflist);
                }
            }
            if (stopping.get()) {
                done.await();
                return;
            }
        }
        CniRepair repair = CniRepair.start(server, installer, Duration.ofSeconds(2), lifecycle, stopping::get, config.cniExclusive());
        running.add(repair);
        Ipam podIpam = ipam;
        PolicyAgent policyAgent = policy;
        if (agent != null) agent.nodeProblems(() -> nodeProblem(podIpam, repair, policyAgent));
        MeshAgent meshAgent = agent;
        int colon = statusAddress.lastIndexOf(':');
        StatusServer status = StatusServer.start(new java.net.InetSocketAddress(statusAddress.substring(0, colon),
                        Integer.parseInt(statusAddress.substring(colon + 1))), ipam,
                agent == null ? null : agent.device(), agent == null ? Map.of() : agent.nodeByKey(), agent == null ? null : agent.presharedKeys(), policy,
                () -> nodeProblem(podIpam, repair, policyAgent) == null && (meshAgent == null || meshAgent.ready()),
                () -> !repair.failingFor(CNI_REPAIR_GIVE_UP) && (meshAgent == null || meshAgent.alive()));
        running.add(status);
        if (installer != null) status.reportCni(repair);
        System.err.println("wiremesh node-daemon: public key " + key.publicKeyBase64() + ", blocks " + blocks + ", CNI socket " + server.path()
                + (mesh != null ? ", mesh " + mesh + " on " + ifname : ""));
        done.await();
    }

    /** How long an ADD waits for the NetworkPolicy table to cover its pod before it fails (the runtime retries). */
    static final Duration POLICY_COVERAGE_TIMEOUT = Duration.ofSeconds(20);

    /** The pods wired on this node, from its IPAM record, as the NetworkPolicy table binds and isolates them. */
    static List<PolicyPlan.LocalPod> localPods(Ipam ipam) {
        Map<String, List<Ipam.Allocation>> byAttachment = new java.util.LinkedHashMap<>();
        for (Ipam.Allocation a : ipam.all()) byAttachment.computeIfAbsent(a.containerId() + "/" + a.ifName(), k -> new ArrayList<>()).add(a);
        List<PolicyPlan.LocalPod> out = new ArrayList<>();
        for (List<Ipam.Allocation> as : byAttachment.values()) {
            Ipam.Allocation first = as.getFirst();
            out.add(new PolicyPlan.LocalPod(first.podNamespace(), first.podName(), PodNetwork.hostVeth(first.containerId(), first.ifName()),
                    as.stream().map(Ipam.Allocation::address).toList()));
        }
        return out;
    }

    /** A new pod's ADD returns once the NetworkPolicy table covers it; fails (try again later) when it does not in time. */
    static PodNetwork.Coverage coverage(PolicyAgent policy) {
        return new PodNetwork.Coverage() {
            @Override
            public void awaitCovered() throws CniException {
                try {
                    if (policy.awaitCovered(POLICY_COVERAGE_TIMEOUT)) return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                String why = policy.lastFailure();
                throw new CniException(CniErrorCode.TRY_AGAIN_LATER, "the node's NetworkPolicy rules do not cover the pod yet"
                        + (why != null ? ": " + why : ""), "the node-daemon's log says why; the runtime retries the ADD");
            }

            @Override
            public void changed() {
                policy.changed();
            }
        };
    }

    /**
     * What keeps pods from being wired on this node apart from the mesh, or null: reported in the node's
     * Ready condition and by /readyz. {@code repair} null: not running yet.
     */
    static io.wiremesh.node.mesh.NodeReconciler.NodeProblem nodeProblem(Ipam ipam, CniRepair repair) {
        return nodeProblem(ipam, repair, null);
    }

    /** {@link #nodeProblem(Ipam, CniRepair)}, and a NetworkPolicy table nft refuses ({@code policy} null: not enforced here). */
    static io.wiremesh.node.mesh.NodeReconciler.NodeProblem nodeProblem(Ipam ipam, CniRepair repair, PolicyAgent policy) {
        String unreadable = ipam.problem();
        if (unreadable != null) return new io.wiremesh.node.mesh.NodeReconciler.NodeProblem("IpamStateUnreadable", unreadable);
        if (repair != null && !repair.intact()) {
            return new io.wiremesh.node.mesh.NodeReconciler.NodeProblem("CniUnavailable", "the CNI socket, plugin or configuration was removed or changed on the node"
                    + " and cannot be put back (the node-daemon's log says why): new pods on this node fail");
        }
        if (repair != null && !repair.preceding().isEmpty()) {
            return new io.wiremesh.node.mesh.NodeReconciler.NodeProblem("OtherNetworkConfiguration", CniRepair.precedenceMessage(repair.preceding()));
        }
        String policyFailure = policy == null ? null : policy.lastFailure();
        if (policyFailure != null && policy.applyFailed()) {
            return new io.wiremesh.node.mesh.NodeReconciler.NodeProblem("NetworkPolicyNotApplied", policyFailure
                    + ": new pods on this node fail until it applies; pods already here keep the rules last applied");
        }
        return null;
    }

    /**
     * Removes what the daemon put on the node besides the WireGuard interface: the CNI configuration
     * (the kubelet then reports the network not ready), the masquerade table and the policy routes.
     */
    static void uninstall(Path confDir) throws IOException {
        System.err.println(CniInstaller.uninstall(confDir) ? "removed " + confDir.resolve(CniInstaller.CONFLIST) : "no CNI configuration to remove");
        NetworkConfigDir.Restored r = NetworkConfigDir.restore(confDir);
        if (!r.restored().isEmpty()) System.err.println("put back " + r.restored() + " (moved aside with cni.exclusive)");
        if (!r.keptAside().isEmpty()) System.err.println("left " + r.keptAside() + " aside: a file of the same name exists again");
        try (Netlink nl = Netlink.open()) {
            new NodeEgress(new NodeAddressRouting(nl, ""), Nft.onThisSystem(), Conntrack.onThisSystem(), "").remove();
        }
        PolicyAgent.remove(Nft.onThisSystem());
        System.err.println("removed the nftables tables " + io.wiremesh.node.egress.MasqueradeTable.TABLE + " and " + PolicyTable.TABLE
                + " and the policy routes to node addresses");
    }

    /**
     * The end of a daemon run by {@code daemonSet}: uninstalls ({@link #uninstall}) when wiremesh leaves the node,
     * keeps everything when the pod is merely replaced, and says which.
     */
    static void stopped(String daemonSet, Path confDir) {
        if (!removedForGood(daemonSet)) {
            System.err.println("wiremesh node-daemon: stopping, DaemonSet " + daemonSet + " remains: keeping the CNI configuration,"
                    + " the masquerade table and the policy routes");
            return;
        }
        System.err.println("wiremesh node-daemon: stopping, DaemonSet " + daemonSet + " is gone or being deleted: uninstalling");
        try {
            uninstall(confDir);
        } catch (IOException | RuntimeException e) {
            System.err.println("wiremesh node-daemon: could not uninstall (" + e + "); `wiremesh-node-daemon uninstall-cni` on the node"
                    + " removes the rest");
        }
    }

    /**
     * Whether this pod stops because wiremesh leaves the node (its DaemonSet is deleted, e.g. by
     * {@code helm uninstall}) rather than because it is replaced (rolling update, eviction, restart),
     * when the node's state must stay so egress never breaks. Unknown (no API answer) counts as replaced.
     */
    static boolean removedForGood(String daemonSet) {
        // Bounded: within the pod's termination grace period, whatever the API server does.
        Config config = new ConfigBuilder(Config.autoConfigure(null)).withRequestRetryBackoffLimit(1).withConnectionTimeout(3_000)
                .withRequestTimeout(5_000).build();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
            String ns = System.getenv("POD_NAMESPACE");
            return removedForGood(client, ns != null ? ns : client.getNamespace(), daemonSet);
        }
    }

    /** {@link #removedForGood(String)} with a given client: gone, being deleted, or our access revoked with it. */
    static boolean removedForGood(KubernetesClient client, String namespace, String daemonSet) {
        try {
            var ds = client.apps().daemonSets().inNamespace(namespace).withName(daemonSet).get();
            return ds == null || ds.getMetadata().getDeletionTimestamp() != null;
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            // helm uninstall deletes this account's token and Role together with the DaemonSet.
            if (e.getCode() == 401 || e.getCode() == 403) return true;
            System.err.println("wiremesh node-daemon: cannot tell whether DaemonSet " + daemonSet + " remains (" + e.getMessage() + "): keeping node state");
            return false;
        }
    }

}
