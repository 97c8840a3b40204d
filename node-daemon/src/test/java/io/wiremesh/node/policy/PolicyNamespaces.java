package io.wiremesh.node.policy;

import static io.wiremesh.testing.Commands.sh;

import io.wiremesh.node.netlink.NetNs;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two "nodes" and their "pods" as network namespaces of the test's own, wired the way PodNetwork wires pods (a veth
 * named wm + 12 hex digits per pod, the pod's /32 routed to it, 169.254.1.1 as the pods' gateway), the nodes joined
 * by a link named wiremesh0 (the tunnel's place; policy rules do not depend on what carries the packets). Every pod
 * and node listens on TCP and UDP ports 80 and 81 (UDP echoes). Closing removes every namespace it made.
 */
final class PolicyNamespaces implements AutoCloseable {
    /** A pod namespace: its name, node (0 or 1), host veth and address. */
    record PodNs(String ns, int node, String veth, String ip) {}

    static final String[] NODES = {"wmt-pol-n0", "wmt-pol-n1"};
    static final String[] NODE_IPS = {"198.18.7.1", "198.18.7.2"};
    private final List<String> made = new ArrayList<>();
    private final List<AutoCloseable> listeners = new ArrayList<>();
    final List<PodNs> pods = new ArrayList<>();

    /** Builds the nodes and {@code podsPerNode} pods on each: pod i of node n has 10.77.(n+1).(10+i). */
    PolicyNamespaces(int podsPerNode) throws Exception {
        for (int n = 0; n < 2; n++) {
            add(NODES[n]);
            sh("ip", "netns", "exec", NODES[n], "sysctl", "-qw", "net.ipv4.ip_forward=1");
            sh("ip", "-n", NODES[n], "link", "set", "lo", "up");
        }
        sh("ip", "-n", NODES[0], "link", "add", "wiremesh0", "type", "veth", "peer", "name", "wiremesh0", "netns", NODES[1]);
        for (int n = 0; n < 2; n++) {
            sh("ip", "-n", NODES[n], "addr", "add", NODE_IPS[n] + "/24", "dev", "wiremesh0");
            sh("ip", "-n", NODES[n], "link", "set", "wiremesh0", "up");
            sh("ip", "-n", NODES[n], "route", "add", "10.77." + (2 - n) + ".0/24", "via", NODE_IPS[1 - n]);
        }
        for (int n = 0; n < 2; n++) {
            for (int i = 0; i < podsPerNode; i++) {
                String ns = "wmt-pol-p" + n + i, veth = String.format("wm%012x", 0xa000 + n * 16 + i), ip = "10.77." + (n + 1) + "." + (10 + i);
                add(ns);
                sh("ip", "-n", NODES[n], "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
                sh("ip", "-n", NODES[n], "addr", "add", "169.254.1.1/32", "dev", veth, "scope", "link");
                sh("ip", "-n", NODES[n], "link", "set", veth, "up");
                sh("ip", "-n", NODES[n], "route", "add", ip + "/32", "dev", veth, "scope", "link");
                sh("ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0");
                sh("ip", "-n", ns, "link", "set", "eth0", "up");
                sh("ip", "-n", ns, "link", "set", "lo", "up");
                sh("ip", "-n", ns, "route", "add", "169.254.1.1/32", "dev", "eth0", "scope", "link");
                sh("ip", "-n", ns, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
                pods.add(new PodNs(ns, n, veth, ip));
            }
        }
        for (PodNs p : pods) listen(p.ns());
        for (String node : NODES) listen(node);
    }

    private void add(String ns) throws Exception {
        new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true).start().waitFor(); // a run killed before its clean-up
        sh("ip", "netns", "add", ns);
        made.add(ns);
    }

    static Path path(String ns) {
        return Path.of("/run/netns", ns);
    }

    /** TCP listeners that accept and close, UDP sockets that echo, on ports 80 and 81 of every address of {@code ns}. */
    private void listen(String ns) throws IOException {
        for (int port : new int[] {80, 81}) {
            ServerSocket tcp = NetNs.run(path(ns), () -> new ServerSocket(port, 256));
            DatagramSocket udp = NetNs.run(path(ns), () -> new DatagramSocket(port));
            listeners.add(tcp);
            listeners.add(udp);
            Thread.ofPlatform().daemon().name("pol-tcp-" + ns + ":" + port).start(() -> {
                while (!tcp.isClosed()) {
                    try (Socket s = tcp.accept()) {
                        s.getOutputStream().write(1);
                    } catch (IOException e) {
                        // closed, or a client gone
                    }
                }
            });
            Thread.ofPlatform().daemon().name("pol-udp-" + ns + ":" + port).start(() -> {
                byte[] buf = new byte[64];
                while (!udp.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        udp.receive(p);
                        udp.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
        }
    }

    /**
     * Whether a new connection from namespace {@code ns} (from {@code source}, null: the route's choice) reaches
     * {@code ip}:{@code port} within {@code timeoutMillis}: TCP connects and reads the listener's byte, UDP gets its echo.
     */
    static boolean reaches(String ns, String source, String ip, String protocol, int port, int timeoutMillis) throws IOException {
        return NetNs.run(path(ns), () -> {
            InetAddress from = source == null ? null : InetAddress.getByName(source);
            if (protocol.equals("TCP")) {
                try (Socket s = new Socket()) {
                    if (from != null) s.bind(new InetSocketAddress(from, 0));
                    s.connect(new InetSocketAddress(ip, port), timeoutMillis);
                    s.setSoTimeout(timeoutMillis);
                    return s.getInputStream().read() == 1;
                } catch (IOException e) {
                    return false;
                }
            }
            try (DatagramSocket s = from == null ? new DatagramSocket() : new DatagramSocket(new InetSocketAddress(from, 0))) {
                s.setSoTimeout(timeoutMillis);
                byte[] probe = {7, 7, 7};
                s.send(new DatagramPacket(probe, probe.length, new InetSocketAddress(ip, port)));
                DatagramPacket reply = new DatagramPacket(new byte[8], 8);
                s.receive(reply);
                return reply.getLength() == 3;
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** Applies {@code script} with nft in node {@code n}'s namespace. */
    static void nft(int n, String script) throws Exception {
        sh(List.of("ip", "netns", "exec", NODES[n], "nft", "-f", "-"), script);
    }

    @Override
    public void close() {
        for (AutoCloseable l : listeners) {
            try {
                l.close();
            } catch (Exception ignored) {
                // closing
            }
        }
        for (String ns : made.reversed()) {
            try {
                new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true).start().waitFor();
            } catch (Exception ignored) {
                // best effort; the next run deletes it first
            }
        }
    }
}
