package io.wiremesh.wireguard.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.wireguard.interop.Lab.Impl;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code wg show IFNAME dump} and {@code showconf} of a Java interface equal wireguard-go's for the same configuration. */
class DumpParityIT extends LabTest {
    /** wireguard-go keeps peers in a map, so the order of peers may differ; fields and values may not. */
    private static java.util.List<String> lines(String s) {
        return s.lines().sorted().toList();
    }




    @Test
    void sameConfigurationSameDump() throws Exception {
        String nsJ = lab.ns("j");
        String nsG = lab.ns("g");
        String ifJ = lab.ifname("j");
        String ifG = lab.ifname("g");
        lab.startInterface(Impl.JAVA, nsJ, ifJ);
        lab.startInterface(Impl.GO, nsG, ifG);
        Path conf = lab.dir.resolve("wg.conf");
        String[] me = lab.keypair("me");
        String[] p1 = lab.keypair("p1");
        String[] p2 = lab.keypair("p2");
        String psk = Lab.sh("wg", "genpsk").trim();
        Files.writeString(conf, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51999
                FwMark = 0x1234

                [Peer]
                PublicKey = %s
                PresharedKey = %s
                Endpoint = 10.201.0.9:51820
                AllowedIPs = 10.202.0.9/32, fd02::9/128, 10.210.0.0/16
                PersistentKeepalive = 0

                [Peer]
                PublicKey = %s
                Endpoint = [fd01::2]:4000
                AllowedIPs = 10.211.0.0/24
                """.formatted(Files.readString(Path.of(me[0])).trim(), p1[1], psk, p2[1]));
        lab.in(nsJ, "wg", "setconf", ifJ, conf.toString());
        lab.in(nsG, "wg", "setconf", ifG, conf.toString());
        assertThat(lines(lab.in(nsJ, "wg", "show", ifJ, "dump"))).isEqualTo(lines(lab.in(nsG, "wg", "show", ifG, "dump")));
        assertThat(lines(lab.in(nsJ, "wg", "showconf", ifJ))).isEqualTo(lines(lab.in(nsG, "wg", "showconf", ifG)));

        // The mark is applied to the UDP socket, not just reported.
        assertThat(lab.in(nsJ, "ss", "-uaneH")).contains("fwmark:0x1234");

        // syncconf and set ... remove / allowed-ips replacement behave the same too.
        Files.writeString(conf, Files.readString(conf).replace("10.211.0.0/24", "10.212.0.0/24, 10.213.0.1/32"));
        lab.in(nsJ, "wg", "syncconf", ifJ, conf.toString());
        lab.in(nsG, "wg", "syncconf", ifG, conf.toString());
        lab.in(nsJ, "wg", "set", ifJ, "peer", p1[1], "remove");
        lab.in(nsG, "wg", "set", ifG, "peer", p1[1], "remove");
        String dumpJ = lab.in(nsJ, "wg", "show", ifJ, "dump");
        assertThat(lines(dumpJ)).isEqualTo(lines(lab.in(nsG, "wg", "show", ifG, "dump")));
        assertThat(dumpJ).contains("10.212.0.0/24,10.213.0.1/32").doesNotContain(p1[1]);
        assertThat(lines(lab.in(nsJ, "wg", "show", ifJ))).isEqualTo(lines(lab.in(nsG, "wg", "show", ifG).replace(ifG, ifJ)));
    }
}
