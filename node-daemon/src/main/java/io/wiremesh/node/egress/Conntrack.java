package io.wiremesh.node.egress;

import io.wiremesh.api.net.Cidr;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Forgets established flows whose path changed. NAT rules and the choice between tunnel and underlay
 * apply to a connection's first packet only; conntrack keeps the old decision for the rest. When a
 * node becomes a peer (its address moves from "masqueraded on the underlay" to "through the tunnel")
 * or stops being one, the flows from the mesh's pools to its addresses are deleted, as kube-proxy does
 * for changed Services, so their next packet takes the new path. Runs the {@code conntrack} tool
 * (netfilter, like {@code nft}); its "0 flow entries" exit status is not an error.
 */
public final class Conntrack {
    private final List<String> conntrack;

    /** @param conntrack the command that runs conntrack (its path, possibly behind {@code ip netns exec NS}) */
    public Conntrack(List<String> conntrack) {
        this.conntrack = List.copyOf(conntrack);
    }

    /** The conntrack on this system: /usr/sbin/conntrack or /sbin/conntrack when present, else whatever PATH has. */
    public static Conntrack onThisSystem() {
        for (String p : List.of("/usr/sbin/conntrack", "/sbin/conntrack")) if (Files.isExecutable(Path.of(p))) return new Conntrack(List.of(p));
        return new Conntrack(List.of("conntrack"));
    }

    /**
     * Deletes the flows from any of {@code sources} to {@code destination} (same family only).
     *
     * @throws IOException when conntrack cannot run or fails for another reason than "nothing to delete"
     */
    public void forget(List<Cidr> sources, Cidr destination) throws IOException {
        for (Cidr s : sources) {
            if (s.v6() != destination.v6()) continue;
            List<String> cmd = new ArrayList<>(conntrack);
            cmd.addAll(List.of("-D", "-f", s.v6() ? "ipv6" : "ipv4", "-s", s.address(0), "--mask-src", mask(s), "-d", destination.address(0)));
            NetfilterCommand.Result r = NetfilterCommand.run(cmd, null);
            if (r.exit() != 0 && !r.out().contains("0 flow entries")) {
                throw new IOException(String.join(" ", cmd) + " failed (exit " + r.exit() + "): " + r.out().strip());
            }
        }
    }

    /** The prefix's netmask as an address (255.255.0.0, ffff:ffff:ffff::). */
    static String mask(Cidr c) throws IOException {
        byte[] m = new byte[c.v6() ? 16 : 4];
        for (int i = 0; i < c.bits(); i++) m[i / 8] |= (byte) (0x80 >>> (i % 8));
        return InetAddress.getByAddress(m).getHostAddress();
    }
}
