package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.ExternalEndpoint;
import io.wiremesh.api.net.HostName;
import org.junit.jupiter.api.Test;

/** The wiremesh.io/external-endpoint annotation's value: HOST[:PORT], checked by text only. */
class ExternalEndpointTest {
    private static ExternalEndpoint parse(String value) {
        return ExternalEndpoint.parse(value, 51820);
    }

    @Test
    void ipv4BracketedIpv6AndDnsNamesWithOrWithoutPort() {
        assertThat(parse("203.0.113.7:4500")).isEqualTo(new ExternalEndpoint(new HostName("203.0.113.7", HostName.Kind.IPV4), 4500));
        assertThat(parse("203.0.113.7").toString()).isEqualTo("203.0.113.7:51820");
        assertThat(parse("[2001:db8::1]:51820")).isEqualTo(new ExternalEndpoint(new HostName("2001:db8::1", HostName.Kind.IPV6), 51820));
        assertThat(parse("[2001:db8::1]").toString()).isEqualTo("[2001:db8::1]:51820");
        assertThat(parse("vpn.example.test:4500").toString()).isEqualTo("vpn.example.test:4500");
        assertThat(parse("vpn.example.test").host().kind()).isEqualTo(HostName.Kind.DNS);
        assertThat(parse("gw-1").toString()).isEqualTo("gw-1:51820");
        assertThat(parse("1.example").host().kind()).isEqualTo(HostName.Kind.DNS);
        assertThat(parse("x.example:1").port()).isEqualTo(1);
        assertThat(parse("x.example:65535").port()).isEqualTo(65535);
        // The default port is the mesh's listen port, not a constant.
        assertThat(ExternalEndpoint.parse("vpn.example.test", 443).toString()).isEqualTo("vpn.example.test:443");
        String longest = ("a".repeat(63) + ".").repeat(3) + "b".repeat(61); // 253 characters
        assertThat(parse(longest).host().text()).hasSize(253);
    }

    @Test
    void rejectsWhatNoDeviceCouldDialSayingWhy() {
        assertThatThrownBy(() -> parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> parse(null)).hasMessageContaining("empty");
        assertThatThrownBy(() -> parse("vpn.example.test:0")).hasMessageContaining("port 0 is out of range 1-65535");
        assertThatThrownBy(() -> parse("vpn.example.test:65536")).hasMessageContaining("port 65536 is out of range");
        assertThatThrownBy(() -> parse("vpn.example.test:")).hasMessageContaining("port \"\" is not a number");
        assertThatThrownBy(() -> parse("vpn.example.test:+80")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> parse("2001:db8::1:51820")).hasMessageContaining("must be in brackets");
        assertThatThrownBy(() -> parse("2001:db8::1")).hasMessageContaining("must be in brackets");
        assertThatThrownBy(() -> parse("[2001:db8::1:51820")).hasMessageContaining("not closed");
        assertThatThrownBy(() -> parse("[203.0.113.7]:51820")).hasMessageContaining("brackets are for IPv6 addresses only");
        assertThatThrownBy(() -> parse("[::ffff:203.0.113.7]:51820")).hasMessageContaining("IPv4-mapped");
        assertThatThrownBy(() -> parse("[2001:db8::g]:51820")).hasMessageContaining("is not an IPv6 address");
        assertThatThrownBy(() -> parse("[fe80::1%eth0]:51820")).hasMessageContaining("is not an IPv6 address");
        assertThatThrownBy(() -> parse("vpn_gw.example.test:51820")).hasMessageContaining("label \"vpn_gw\"");
        assertThatThrownBy(() -> parse("VPN.example.test")).hasMessageContaining("lowercase");
        assertThatThrownBy(() -> parse("-vpn.example.test")).hasMessageContaining("not starting or ending with '-'");
        assertThatThrownBy(() -> parse("vpn..example.test")).hasMessageContaining("empty label");
        assertThatThrownBy(() -> parse("vpn.example.test.")).hasMessageContaining("empty label");
        assertThatThrownBy(() -> parse("a".repeat(64) + ".example")).hasMessageContaining("longer than 63");
        assertThatThrownBy(() -> parse(("a".repeat(63) + ".").repeat(3) + "b".repeat(62))).hasMessageContaining("254 characters: at most 253");
        // Trailing garbage
        assertThatThrownBy(() -> parse("vpn.example.test:51820x")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> parse("203.0.113.7:51820/udp")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> parse("[2001:db8::1]:51820 ")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> parse("[2001:db8::1]x")).hasMessageContaining("only :PORT may follow");
        assertThatThrownBy(() -> parse("vpn.example.test/x")).hasMessageContaining("must be lowercase letters");
        assertThatThrownBy(() -> parse("vpn.example.test 51820")).hasMessageContaining("must be lowercase letters");
        // All digits and dots is an IPv4 address or nothing.
        assertThatThrownBy(() -> parse("203.0.113.256")).hasMessageContaining("is not an IPv4 address");
        assertThatThrownBy(() -> parse("203.0.113")).hasMessageContaining("is not an IPv4 address");
        assertThatThrownBy(() -> parse("203.0.113.07")).hasMessageContaining("no leading zeros");
        assertThatThrownBy(() -> new ExternalEndpoint(new HostName("x", HostName.Kind.DNS), 0)).hasMessageContaining("out of range");
    }

    @Test
    void hostNamesAloneAcceptUnbracketedIpv6() {
        assertThat(HostName.parse("fd00::a").kind()).isEqualTo(HostName.Kind.IPV6);
        assertThat(HostName.parse("10.96.0.10").kind()).isEqualTo(HostName.Kind.IPV4);
        assertThat(HostName.parse("svc.cluster.local").kind()).isEqualTo(HostName.Kind.DNS);
        assertThatThrownBy(() -> HostName.parse("[fd00::a]")).hasMessageContaining("is not an IPv6 address");
    }
}
