package io.wiremesh.node;

import io.wiremesh.api.net.Cidr;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The node-daemon's command line ({@link NodeDaemon} is the process).
 * <pre>
 *   wiremesh-node-daemon --mesh MESH --node-name NODE --node-ip IP [--interface wiremesh0]   (in a cluster)
 *   wiremesh-node-daemon --pod-cidr CIDR[,CIDR]                                             (pods only, no mesh)
 *   wiremesh-node-daemon uninstall-cni [--cni-conf-dir /etc/cni/net.d]   (CNI configuration, masquerade table, policy routes)
 * </pre>
 * Flags take {@code --flag value} or {@code --flag=value} (as Kubernetes manifests usually write them). In mesh mode
 * the node's block(s) come from its WireGuardNode; the API server is found like kubectl finds it (in-cluster service
 * account, or KUBECONFIG). A usage error exits with status 2.
 */
@Command(name = "wiremesh-node-daemon", mixinStandardHelpOptions = true, subcommands = Main.UninstallCni.class,
        description = "wiremesh's node agent: the node's WireGuard interface, peers, routes, egress and the CNI socket.")
public final class Main implements Callable<Integer> {
    @Option(names = "--mesh", description = "the WireGuardMesh this node belongs to (needs --node-name and --node-ip)")
    String mesh;
    @Option(names = "--node-name", defaultValue = "${env:NODE_NAME}", description = "this Node's name (default: $NODE_NAME)")
    String nodeName;
    @Option(names = "--node-ip", defaultValue = "${env:NODE_IP}", description = "the address other nodes reach this one at (default: $NODE_IP)")
    String nodeIp;
    @Option(names = "--interface", defaultValue = "wiremesh0", description = "the WireGuard interface (default: ${DEFAULT-VALUE})")
    String ifname;
    @Option(names = "--pod-cidr", split = ",", description = "the node's block(s) without a mesh (pods only)")
    List<String> podCidrs = new ArrayList<>();
    @Option(names = "--state-dir", defaultValue = "/var/lib/wiremesh", description = "keys, identity, IPAM state (default: ${DEFAULT-VALUE})")
    Path state;
    @Option(names = "--cni-socket", defaultValue = "/var/run/wiremesh/cni.sock", description = "the CNI plugin's socket (default: ${DEFAULT-VALUE})")
    Path socket;
    @Option(names = "--mtu", defaultValue = "1420", description = "pods' MTU without a mesh (in a mesh: the WireGuard interface's)")
    int mtu;
    @Option(names = "--status-address", defaultValue = "0.0.0.0:9465", description = "/healthz, /readyz, /metrics (default: ${DEFAULT-VALUE})")
    String statusAddress;
    @Option(names = "--proc-sys-net", defaultValue = "/proc/sys/net",
            description = "the node's net sysctls; in a container /proc/sys is read-only, so a mount of the host's (default: ${DEFAULT-VALUE})")
    Path procSysNet;
    @Option(names = "--cni-bin-dir", description = "install the plugin here (with --cni-conf-dir, --cni-runtime, --cni-jar)")
    Path cniBinDir;
    @Option(names = "--cni-conf-dir", description = "install 10-wiremesh.conflist here")
    Path cniConfDir;
    @Option(names = "--cni-runtime", description = "the Java runtime the installed plugin runs on")
    Path cniRuntime;
    @Option(names = "--cni-jar", description = "the plugin's jar")
    Path cniJar;
    @Option(names = "--daemonset", description = "the DaemonSet running this daemon: stopped while it is gone or being deleted, the daemon"
            + " uninstalls as uninstall-cni does; stopped otherwise, it keeps everything")
    String daemonSet;

    @Option(names = "--network-policy", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "in a mesh, enforce Kubernetes NetworkPolicy on this node (default: ${DEFAULT-VALUE})")
    boolean networkPolicy;

    @Option(names = "--cni-exclusive", defaultValue = "false", negatable = true, fallbackValue = "true",
            description = "move network configurations that take precedence over wiremesh's aside (renamed *" + io.wiremesh.node.cni.NetworkConfigDir.ASIDE
                    + ", put back by uninstall-cni); without it they are only reported (default: ${DEFAULT-VALUE})")
    boolean cniExclusive;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int status = new CommandLine(new Main()).execute(args);
        if (status != 0) System.exit(status);
    }

    /** The daemon's configuration from the flags. @throws CommandLine.ParameterException when they do not make a daemon */
    NodeDaemon.Options config() {
        List<Cidr> blocks = new ArrayList<>();
        for (String c : podCidrs) {
            try {
                blocks.add(Cidr.parse(c.trim()));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--pod-cidr " + c + ": " + e.getMessage());
            }
        }
        if (mesh == null && blocks.isEmpty()) throw new CommandLine.ParameterException(spec.commandLine(), "give --mesh (with --node-name and --node-ip) or --pod-cidr");
        if (mesh != null && (nodeName == null || nodeIp == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--mesh needs --node-name and --node-ip (or NODE_NAME and NODE_IP)");
        }
        return new NodeDaemon.Options(List.copyOf(blocks), state, socket, mtu, mesh, nodeName, nodeIp, ifname, statusAddress, cniBinDir, cniConfDir,
                cniRuntime, cniJar, procSysNet, daemonSet, networkPolicy && mesh != null, cniExclusive);
    }

    @Override
    public Integer call() throws Exception {
        new NodeDaemon(config()).run();
        return 0;
    }

    /** Removes what the daemon put on the node besides the WireGuard interface ({@link NodeDaemon#uninstall}). */
    @Command(name = "uninstall-cni", mixinStandardHelpOptions = true,
            description = "remove the CNI configuration, the masquerade table and the policy routes from this node")
    static final class UninstallCni implements Callable<Integer> {
        @Option(names = "--cni-conf-dir", defaultValue = "/etc/cni/net.d", description = "(default: ${DEFAULT-VALUE})")
        Path confDir;

        @Override
        public Integer call() throws Exception {
            NodeDaemon.uninstall(confDir);
            return 0;
        }
    }
}
