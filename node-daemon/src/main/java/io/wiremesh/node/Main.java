package io.wiremesh.node;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.cni.CniServer;
import io.wiremesh.node.cni.PodNetwork;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.netlink.Netlink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The node-daemon (first slice: keys, IPAM and pod wiring for the CNI plugin).
 * <pre>
 *   wiremesh-node-daemon --pod-cidr 10.42.1.0/24[,fd42::1:0/112] [--state-dir /var/lib/wiremesh]
 *                        [--cni-socket /var/run/wiremesh/cni.sock] [--mtu 1420]
 * </pre>
 * The node's block will come from its WireGuardNode once the daemon watches the API.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        List<Cidr> blocks = new ArrayList<>();
        Path state = Path.of("/var/lib/wiremesh");
        Path socket = Path.of("/var/run/wiremesh/cni.sock");
        int mtu = 1420;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pod-cidr" -> { for (String c : args[++i].split(",")) blocks.add(Cidr.parse(c.trim())); }
                case "--state-dir" -> state = Path.of(args[++i]);
                case "--cni-socket" -> socket = Path.of(args[++i]);
                case "--mtu" -> mtu = Integer.parseInt(args[++i]);
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (blocks.isEmpty()) usage("--pod-cidr is required");
        NodeKey key = NodeKey.loadOrCreate(state);
        Path procSys = Path.of("/proc/sys/net");
        // Pods are routed through this node: forwarding must be on in the node's namespace.
        Files.writeString(procSys.resolve("ipv4/ip_forward"), "1");
        if (Files.exists(procSys.resolve("ipv6/conf/all/forwarding"))) Files.writeString(procSys.resolve("ipv6/conf/all/forwarding"), "1");
        Ipam ipam = new Ipam(state.resolve("ipam.json"), blocks);
        Netlink netlink = Netlink.open();
        CniServer server = CniServer.start(new PodNetwork(ipam, netlink, mtu, procSys), socket);
        System.err.println("wiremesh node-daemon: public key " + key.publicKeyBase64() + ", blocks " + blocks + ", CNI socket " + server.path());
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            done.countDown();
        }));
        done.await();
    }

    private static void usage(String problem) {
        System.err.println("wiremesh-node-daemon: " + problem);
        System.err.println("usage: wiremesh-node-daemon --pod-cidr CIDR[,CIDR] [--state-dir DIR] [--cni-socket PATH] [--mtu N]");
        System.exit(2);
    }
}
