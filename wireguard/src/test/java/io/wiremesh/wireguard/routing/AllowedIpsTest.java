package io.wiremesh.wireguard.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AllowedIpsTest {
    private static byte[] ip(String s) {
        return Prefix.parse(s).address();
    }

    @Test
    void longestPrefixWinsForIpv4() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(Prefix.parse("10.0.0.0/8"), "a");
        t.insert(Prefix.parse("10.1.0.0/16"), "b");
        t.insert(Prefix.parse("10.1.2.3/32"), "c");
        t.insert(Prefix.parse("0.0.0.0/0"), "default");
        assertThat(t.lookup(ip("10.9.9.9"))).isEqualTo("a");
        assertThat(t.lookup(ip("10.1.9.9"))).isEqualTo("b");
        assertThat(t.lookup(ip("10.1.2.3"))).isEqualTo("c");
        assertThat(t.lookup(ip("10.1.2.4"))).isEqualTo("b");
        assertThat(t.lookup(ip("192.168.1.1"))).isEqualTo("default");
    }

    @Test
    void longestPrefixWinsForIpv6AndFamiliesAreSeparate() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(Prefix.parse("fd00::/8"), "a");
        t.insert(Prefix.parse("fd00:1::/32"), "b");
        t.insert(Prefix.parse("fd00:1:0:0:0:0:0:1/128"), "c");
        t.insert(Prefix.parse("10.0.0.0/8"), "v4");
        assertThat(t.lookup(ip("fd12::1"))).isEqualTo("a");
        assertThat(t.lookup(ip("fd00:1::2"))).isEqualTo("b");
        assertThat(t.lookup(ip("fd00:1::1"))).isEqualTo("c");
        assertThat(t.lookup(ip("fe80::1"))).isNull();
        assertThat(t.lookup(ip("::ffff:10.0.0.1"))).isEqualTo("v4"); // Java parses a mapped address as IPv4
        t.insert(Prefix.parse("::/0"), "v6default");
        assertThat(t.lookup(ip("fe80::1"))).isEqualTo("v6default");
        assertThat(t.lookup(ip("11.0.0.1"))).isNull();
    }

    @Test
    void samePrefixMovesBetweenPeersAndRemovalFallsBack() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(Prefix.parse("10.0.0.0/24"), "a");
        t.insert(Prefix.parse("10.0.0.0/16"), "b");
        t.insert(Prefix.parse("10.0.0.0/24"), "b");
        assertThat(t.prefixesOf("a")).isEmpty();
        assertThat(t.lookup(ip("10.0.0.5"))).isEqualTo("b");
        assertThat(t.remove(Prefix.parse("10.0.0.0/24"), "a")).isFalse();
        assertThat(t.remove(Prefix.parse("10.0.0.0/24"), "b")).isTrue();
        assertThat(t.lookup(ip("10.0.0.5"))).isEqualTo("b");
        t.removeValue("b");
        assertThat(t.lookup(ip("10.0.0.5"))).isNull();
        assertThat(t.size()).isZero();
    }

    @Test
    void prefixesAreNormalisedAndListedInInsertionOrder() {
        AllowedIps<String> t = new AllowedIps<>();
        t.insert(Prefix.parse("10.1.2.3/24"), "a");
        t.insert(Prefix.parse("fd00::1:2/64"), "a");
        t.insert(Prefix.parse("10.9.0.0/16"), "a");
        assertThat(t.prefixesOf("a")).extracting(Prefix::toString)
                .containsExactly("10.1.2.0/24", "fd00::/64", "10.9.0.0/16");
    }

    @Test
    void badPrefixesAreRejected() {
        assertThatThrownBy(() -> Prefix.parse("10.0.0.0/33")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Prefix.parse("example.com/8")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Prefix.parse("10.0.0.0/x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Prefix.parse("fd00:0:0:1::/64").toString()).isEqualTo("fd00:0:0:1::/64");
        assertThat(Prefix.parse("::/0").toString()).isEqualTo("::/0");
    }
}
