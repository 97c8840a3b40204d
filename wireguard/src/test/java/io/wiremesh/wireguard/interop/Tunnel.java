package io.wiremesh.wireguard.interop;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Two WireGuard interfaces (each Java or wireguard-go) in two namespaces joined by an underlay
 * veth, configured only with {@code wg}. Underlay 10.201.0.0/24, tunnel 10.202.0.0/24 and fd02::/64.
 */
final class Tunnel {
    static final int PORT_A = 51820;
    static final int PORT_B = 51821;

    final Lab lab;
    final String nsA;
    final String nsB;
    final String linkA;
    final String linkB;
    final String ifA;
    final String ifB;
    final String[] keyA;
    final String[] keyB;
    final Process procA;
    final Process procB;

    Tunnel(Lab lab, Lab.Impl implA, Lab.Impl implB, String pskFile) throws Exception {
        this.lab = lab;
        nsA = lab.ns("a");
        nsB = lab.ns("b");
        String[] links = lab.link(nsA, "10.201.0.1/24", nsB, "10.201.0.2/24");
        linkA = links[0];
        linkB = links[1];
        ifA = lab.ifname(implA == Lab.Impl.JAVA ? "j" : "g");
        ifB = lab.ifname(implB == Lab.Impl.JAVA ? "k" : "h");
        procA = lab.startInterface(implA, nsA, ifA);
        procB = lab.startInterface(implB, nsB, ifB);
        keyA = lab.keypair("a");
        keyB = lab.keypair("b");
        configure(nsA, ifA, keyA[0], PORT_A, keyB[1], "10.201.0.2:" + PORT_B, "10.202.0.2/32,fd02::2/128", pskFile);
        configure(nsB, ifB, keyB[0], PORT_B, keyA[1], "10.201.0.1:" + PORT_A, "10.202.0.1/32,fd02::1/128", pskFile);
        address(nsA, ifA, "10.202.0.1/24", "fd02::1/64");
        address(nsB, ifB, "10.202.0.2/24", "fd02::2/64");
    }

    private void configure(String ns, String ifname, String key, int port, String peer, String endpoint,
                           String allowed, String psk) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("wg", "set", ifname, "private-key", key,
                "listen-port", Integer.toString(port), "peer", peer, "endpoint", endpoint, "allowed-ips", allowed));
        if (psk != null) cmd.addAll(List.of("preshared-key", psk));
        lab.in(ns, cmd.toArray(String[]::new));
    }

    private void address(String ns, String ifname, String v4, String v6) throws Exception {
        lab.in(ns, "ip", "addr", "add", v4, "dev", ifname);
        lab.in(ns, "ip", "-6", "addr", "add", v6, "dev", ifname, "nodad");
        lab.in(ns, "ip", "link", "set", ifname, "up");
    }

    String ping(String ns, String target, int count) throws Exception {
        return lab.in(ns, "ping", "-c", Integer.toString(count), "-i", "0.2", "-W", "5", target);
    }

    /** Sends {@code bytes} of data (random with plaintext markers) over TCP from one side to the other; returns both SHA-256s. */
    String[] transfer(String fromNs, String toNs, String toAddress, int bytes, int port) throws Exception {
        Path src = lab.dir.resolve("src-" + port);
        Path dst = lab.dir.resolve("dst-" + port);
        writePayload(src, bytes);
        Process server = lab.spawnIn(toNs, "socat-server-" + port + ".log", "socat", "-u",
                (toAddress.contains(":") ? "TCP6-LISTEN:" : "TCP-LISTEN:") + port + ",reuseaddr", "OPEN:" + dst + ",creat,trunc");
        waitListening(toNs, port);
        String to = toAddress.contains(":") ? "TCP6:[" + toAddress + "]:" : "TCP:" + toAddress + ":";
        lab.in(fromNs, "socat", "-u", "OPEN:" + src, to + port + ",connect-timeout=10");
        if (!server.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("receiver did not finish");
        return new String[] {sha256(src), sha256(dst)};
    }

    void waitListening(String ns, int port) throws Exception {
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while (System.nanoTime() < deadline) {
            if (lab.in(ns, "ss", "-ltnH").contains(":" + port + " ")) return;
            Thread.sleep(50);
        }
        throw new IllegalStateException("nothing listens on " + port + " in " + ns);
    }

    static final byte[] MARKER = "WIREMESH-PLAINTEXT-MARKER-0123456789".getBytes();

    static void writePayload(Path f, int bytes) throws Exception {
        byte[] data = new byte[bytes];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(data);
        for (int off = 0; off + MARKER.length < bytes; off += 1000) System.arraycopy(MARKER, 0, data, off, MARKER.length);
        Files.write(f, data);
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    String dump(String ns, String ifname) throws Exception {
        return lab.in(ns, "wg", "show", ifname, "dump");
    }
}
