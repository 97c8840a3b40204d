package io.wiremesh.node.wg;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Runs inside a VM with the real WireGuard module (see {@code KernelGenlIT}): {@link Datapaths} detects
 * the module, the node-daemon's own kernel code ({@link KernelDevice}: rtnetlink + generic netlink)
 * configures {@code wiremesh0}, and
 * every step is read back twice, through genl ({@link KernelDevice#peers()}) and through the
 * unmodified {@code wg show dump}; they must agree with what was set. Prints one line per check and
 * exits 1 at the first disagreement. Kept short: the VM emulates the CPU.
 */
public final class KernelGenlProbe {
    private static final String IF = "wiremesh0";

    public static void main(String[] args) throws Exception {
        // Detection: with the module present, auto and kernel pick it; userspace still means the UAPI socket.
        try (WireGuardDevice auto = Datapaths.choose(io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath.AUTO, IF);
             WireGuardDevice kernel = Datapaths.choose(io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath.KERNEL, IF);
             WireGuardDevice user = Datapaths.choose(io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath.USERSPACE, IF)) {
            check("datapath auto picks the kernel module", auto.kind().equals("kernel"));
            check("datapath kernel is accepted", kernel.kind().equals("kernel"));
            check("datapath userspace stays userspace", user.kind().equals("userspace"));
        }
        try (KernelDevice dev = new KernelDevice(IF)) {
            byte[] key1 = X25519.generatePrivateKey();
            dev.configure(key1, 51820);
            // Configured means up too: the kernel refuses to bring it up while another process holds the port.
            check("a WireGuard interface that is down is not configured", !dev.configured());
            try (io.wiremesh.node.netlink.Netlink nl = io.wiremesh.node.netlink.Netlink.open()) {
                nl.setUp(nl.link(IF).index()); // what MeshRouting.setUp does in the daemon
            }
            check("configured", dev.configured());
            Map<String, String[]> dump = dump();
            check("private key and port in wg dump", dump.get("").length > 2 && dump.get("")[0].equals(Keys.toBase64(key1)) && dump.get("")[2].equals("51820"));
            // The daemon routes by source and table, never by mark: its interface carries no fwmark.
            check("no fwmark in wg dump", dump.get("").length > 3 && dump.get("")[3].equals("off"));

            String psk = Keys.toBase64(X25519.generatePrivateKey());
            List<WireGuardDevice.PeerConfig> peers = List.of(
                    new WireGuardDevice.PeerConfig(pub(), "198.18.50.2:51820", List.of("10.42.1.0/24", "10.42.1.1/32", "fd42::1:0/112"), 25, psk),
                    new WireGuardDevice.PeerConfig(pub(), "[fd18:50::3]:51821", List.of("10.42.2.0/24", "fd42::2:0/112"), 0),
                    new WireGuardDevice.PeerConfig(pub(), null, List.of("10.45.0.7/32"), 0));
            for (var p : peers) dev.upsertPeer(p, null);
            agree(dev, peers, Map.of(peers.get(0).publicKey(), psk));

            // Replace allowed IPs, remove a peer, change the private key.
            var moved = new WireGuardDevice.PeerConfig(peers.get(1).publicKey(), peers.get(1).endpoint(), List.of("10.42.9.0/24"), 0);
            dev.upsertPeer(moved, state(dev, moved.publicKey()));
            dev.removePeer(peers.get(2).publicKey());
            byte[] key2 = X25519.generatePrivateKey();
            dev.configure(key2, 51820);
            agree(dev, List.of(peers.get(0), moved), Map.of(peers.get(0).publicKey(), psk));
            check("new private key in wg dump", dump().get("")[0].equals(Keys.toBase64(key2)));

            // 1,000 peers x 3 allowed IPs: the dump comes in many parts, peers split across them.
            for (var p : List.copyOf(dev.peers())) dev.removePeer(p.publicKey());
            List<WireGuardDevice.PeerConfig> many = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                many.add(new WireGuardDevice.PeerConfig(pub(), "198.18.51." + (i % 250 + 1) + ":" + (20000 + i),
                        List.of("10.60." + (i / 250) + "." + (i % 250) + "/32", "10.61." + (i / 250) + "." + (i % 250) + "/32",
                                "fd61::" + Integer.toHexString(i) + "/128"), 0));
            }
            long t0 = System.nanoTime();
            for (var p : many) dev.upsertPeer(p, null);
            System.out.printf("set 1000 peers in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            agree(dev, many, Map.of());
        }
        System.out.println("ALL CHECKS PASSED");
    }

    private static String pub() {
        return Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
    }

    private static WireGuardDevice.PeerState state(KernelDevice dev, String key) throws IOException {
        return dev.peers().stream().filter(p -> p.publicKey().equals(key)).findFirst().orElse(null);
    }

    /** genl and wg both report exactly {@code want} (keys, endpoints, allowed IPs; keepalive and PSK from wg). */
    private static void agree(KernelDevice dev, List<WireGuardDevice.PeerConfig> want, Map<String, String> psks) throws Exception {
        List<WireGuardDevice.PeerState> genl = dev.peers();
        Map<String, String[]> wg = dump();
        check(want.size() + " peers through genl (no duplicates from multi-part dumps)", genl.size() == want.size()
                && genl.stream().map(WireGuardDevice.PeerState::publicKey).distinct().count() == want.size());
        check(want.size() + " peers through wg show dump", wg.size() - 1 == want.size());
        for (var w : want) {
            var g = genl.stream().filter(p -> p.publicKey().equals(w.publicKey())).findFirst().orElse(null);
            String[] d = wg.get(w.publicKey());
            boolean ok = g != null && d != null
                    && prefixes(w.allowedIps()).equals(prefixes(g.allowedIps()))
                    && prefixes(w.allowedIps()).equals(prefixes(d[3].equals("(none)") ? List.of() : List.of(d[3].split(","))))
                    && String.valueOf(w.endpoint() == null ? "(none)" : w.endpoint()).equals(d[2])
                    && String.valueOf(w.endpoint()).equals(String.valueOf(g.endpoint()))
                    && d[7].equals(w.persistentKeepalive() == 0 ? "off" : String.valueOf(w.persistentKeepalive()))
                    && d[1].equals(psks.getOrDefault(w.publicKey(), "(none)"));
            if (!ok) {
                System.out.println("MISMATCH for " + w + ": genl " + g + ", wg " + (d == null ? null : String.join(" ", d)));
                System.exit(1);
            }
        }
        System.out.println("ok  genl and wg agree on every peer's endpoint, allowed IPs, keepalive and preshared key");
    }

    private static Set<String> prefixes(List<String> cidrs) {
        Set<String> out = new TreeSet<>();
        for (String c : cidrs) out.add(io.wiremesh.api.net.Cidr.parse(c.trim()).toString());
        return out;
    }

    /** `wg show wiremesh0 dump`: "" -> the interface line, public key -> the peer line, split on tabs. */
    private static Map<String, String[]> dump() throws Exception {
        Process p = new ProcessBuilder("/usr/bin/wg", "show", IF, "dump").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException("wg show dump: " + out);
        Map<String, String[]> m = new HashMap<>();
        boolean first = true;
        for (String line : out.split("\n")) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            m.put(first ? "" : f[0], first ? f : java.util.Arrays.copyOfRange(f, 0, f.length));
            first = false;
        }
        return m;
    }

    private static void check(String what, boolean ok) {
        System.out.println((ok ? "ok  " : "FAIL ") + what);
        if (!ok) System.exit(1);
    }
}
