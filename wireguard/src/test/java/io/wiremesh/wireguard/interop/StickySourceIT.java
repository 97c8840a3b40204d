package io.wiremesh.wireguard.interop;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sticky sockets: a responder (the Java datapath) with two addresses on its underlay, an initiator
 * (Debian's wireguard-go) that sends to the secondary one. Every reply must leave from the address
 * the initiator used — not the one routing would pick (the primary) — for IPv4 and IPv6; once the
 * secondary address is removed, the responder falls back to the primary and traffic goes on.
 */
class StickySourceIT extends LabTest {
    @Test
    void repliesLeaveFromTheAddressThePeerSentTo() throws Exception {
        String r = lab.ns("r"), i = lab.ns("i");
        String[] links = lab.link(r, "10.201.0.1/24", i, "10.201.0.2/24");
        lab.in(r, "ip", "addr", "add", "10.201.0.11/24", "dev", links[0]);
        for (int k = 0; k < 2; k++) lab.in(k == 0 ? r : i, "sysctl", "-qw", "net.ipv6.conf." + links[k] + ".disable_ipv6=0");
        lab.in(r, "ip", "-6", "addr", "add", "fd01::1/64", "dev", links[0], "nodad");
        lab.in(r, "ip", "-6", "addr", "add", "fd01::11/64", "dev", links[0], "nodad");
        lab.in(i, "ip", "-6", "addr", "add", "fd01::2/64", "dev", links[1], "nodad");

        String ifR = lab.ifname("j"), ifI = lab.ifname("g");
        lab.startInterface(Lab.Impl.JAVA, r, ifR);
        lab.startInterface(Lab.Impl.GO, i, ifI);
        String[] keyR = lab.keypair("r"), keyI = lab.keypair("i");
        // The responder knows no endpoint: it learns the initiator's, and which of its addresses it was sent to.
        lab.in(r, "wg", "set", ifR, "private-key", keyR[0], "listen-port", "51820", "peer", keyI[1], "allowed-ips", "10.202.0.2/32");
        lab.in(i, "wg", "set", ifI, "private-key", keyI[0], "listen-port", "51821", "peer", keyR[1], "allowed-ips", "10.202.0.1/32",
                "endpoint", "10.201.0.11:51820");
        lab.in(r, "ip", "addr", "add", "10.202.0.1/24", "dev", ifR);
        lab.in(i, "ip", "addr", "add", "10.202.0.2/24", "dev", ifI);
        lab.in(r, "ip", "link", "set", ifR, "up");
        lab.in(i, "ip", "link", "set", ifI, "up");

        // IPv4: the initiator sends to the secondary address.
        List<String> wire = exchange(i, links[1]);
        assertThat(fromResponder(wire, "10.201.0.11")).as("replies from the secondary address:%n%s", wire).isGreaterThanOrEqualTo(4);
        assertThat(fromResponder(wire, "10.201.0.1")).as("replies from the primary address:%n%s", wire).isZero();

        // IPv6, the same way.
        lab.in(i, "wg", "set", ifI, "peer", keyR[1], "endpoint", "[fd01::11]:51820");
        wire = exchange(i, links[1]);
        assertThat(fromResponder(wire, "fd01::11")).as("IPv6 replies from the secondary address:%n%s", wire).isGreaterThanOrEqualTo(4);
        assertThat(fromResponder(wire, "fd01::1")).as("IPv6 replies from the primary address:%n%s", wire).isZero();

        // The secondary address goes away, then the responder sends: sendmsg refuses the stale source, the
        // responder forgets it and sends from the primary, and wireguard-go roams to it (whitepaper 2.1).
        lab.in(i, "wg", "set", ifI, "peer", keyR[1], "endpoint", "10.201.0.11:51820");
        exchange(i, links[1]);
        lab.in(r, "ip", "addr", "del", "10.201.0.11/24", "dev", links[0]);
        Capture cap = new Capture(lab, i, links[1]);
        String ping = lab.in(r, "ping", "-c", "4", "-i", "0.2", "-W", "5", "10.202.0.2");
        wire = cap.stop();
        assertThat(ping).contains("4 received");
        assertThat(fromResponder(wire, "10.201.0.1")).as("after the secondary address was removed:%n%s", wire).isGreaterThanOrEqualTo(4);
        assertThat(lab.in(i, "wg", "show", ifI, "endpoints")).contains("10.201.0.1:51820");
    }

    /** Pings the responder through the tunnel from the initiator, capturing the initiator's underlay. */
    private List<String> exchange(String ns, String link) throws Exception {
        Capture cap = new Capture(lab, ns, link);
        String ping = lab.in(ns, "ping", "-c", "4", "-i", "0.2", "-W", "5", "10.202.0.1");
        assertThat(ping).contains("4 received");
        return cap.stop();
    }

    /** Datagrams from the responder's WireGuard port at {@code address} ({@code tcpdump -q}: "IP A.port > B.port: UDP"). */
    private static long fromResponder(List<String> wire, String address) {
        String src = (address.contains(":") ? "IP6 " : "IP ") + address + ".51820 >";
        return wire.stream().filter(l -> l.contains(src)).count();
    }
}
