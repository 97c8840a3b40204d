package io.wiremesh.node.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IpamTest {
    @TempDir
    Path dir;

    private Ipam ipam(String... blocks) throws Exception {
        return new Ipam(dir.resolve("ipam.json"), java.util.Arrays.stream(blocks).map(Cidr::parse).toList());
    }

    @Test
    void oneAddressPerFamilySkippingReservedOnes() throws Exception {
        Ipam ipam = ipam("10.42.1.0/24", "fd42::1:0/112");
        List<Ipam.Allocation> a = ipam.allocate("c1", "eth0", "default", "p1");
        assertThat(a).extracting(Ipam.Allocation::address).containsExactly("10.42.1.2", "fd42::1:2");
        assertThat(ipam.allocate("c1", "eth0", "default", "p1")).isEqualTo(a); // a retried ADD gets the same
        assertThat(ipam.allocate("c2", "eth0", null, null)).extracting(Ipam.Allocation::address).containsExactly("10.42.1.3", "fd42::1:3");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ipam.json")))).isEqualTo("rw-------");
    }

    @Test
    void releasedAddressesAreNotReusedAtOnceAndARestartKnowsEverything() throws Exception {
        Ipam ipam = ipam("10.42.2.0/29"); // usable .2 .. .6
        ipam.allocate("a", "eth0", null, null);
        ipam.allocate("b", "eth0", null, null);
        ipam.release("a", "eth0");
        assertThat(ipam.release("a", "eth0")).isEmpty(); // idempotent
        Ipam restarted = ipam("10.42.2.0/29");
        assertThat(restarted.all()).extracting(Ipam.Allocation::address).containsExactly("10.42.2.3");
        assertThat(restarted.allocate("c", "eth0", null, null).get(0).address()).isEqualTo("10.42.2.4");
        Set<String> seen = new HashSet<>();
        for (String id : List.of("d", "e", "f")) seen.add(restarted.allocate(id, "eth0", null, null).get(0).address());
        assertThat(seen).containsExactlyInAnyOrder("10.42.2.5", "10.42.2.6", "10.42.2.2");
        assertThatThrownBy(() -> restarted.allocate("g", "eth0", null, null)).isInstanceOf(Ipam.ExhaustedException.class)
                .hasMessageContaining("10.42.2.0/29");
        assertThat(restarted.free(false)).isZero();
    }

    @Test
    void gcKeepsOnlyValidAttachments() throws Exception {
        Ipam ipam = ipam("10.42.3.0/24");
        ipam.allocate("a", "eth0", null, null);
        ipam.allocate("b", "eth0", null, null);
        ipam.allocate("b", "net1", null, null);
        assertThat(ipam.retainOnly(Set.of("b/eth0"))).extracting(Ipam.Allocation::containerId).containsExactlyInAnyOrder("a", "b");
        assertThat(ipam.all()).singleElement().satisfies(x -> assertThat(x.ifName()).isEqualTo("eth0"));
    }

    @Test
    void anUnreadableStateHandsOutNothingKeepsTheFileAndRecoversOnceRepaired() throws Exception {
        Ipam before = ipam("10.42.3.0/29");
        before.allocate("running", "eth0", "default", "p1"); // 10.42.3.2
        Path file = dir.resolve("ipam.json");
        byte[] good = Files.readAllBytes(file);
        byte[] torn = java.util.Arrays.copyOf(good, good.length / 2); // e.g. a disk that lost the end of a write
        Files.write(file, torn);

        Ipam ipam = ipam("10.42.3.0/29");
        assertThat(ipam.problem()).contains(file.toString()).contains("cannot be read").contains("Restore the file");
        for (var call : List.<org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(() -> ipam.allocate("new", "eth0", null, null),
                () -> ipam.release("running", "eth0"), () -> ipam.retainOnly(Set.of()), () -> ipam.find("running", "eth0"))) {
            assertThatThrownBy(call).isInstanceOf(Ipam.UnreadableStateException.class).hasMessageContaining(file.toString());
        }
        assertThat(Files.readAllBytes(file)).as("never overwritten").isEqualTo(torn);

        Files.write(file, good); // restored
        assertThat(ipam.problem()).isNull();
        assertThat(ipam.allocate("new", "eth0", null, null)).extracting(Ipam.Allocation::address).containsExactly("10.42.3.3");

        Files.writeString(file, "{\"allocations\":[{\"containerId\":\"x\",\"ifName\":\"eth0\"}]}"); // valid JSON, not our shape
        assertThat(ipam("10.42.3.0/29").problem()).contains("without address");
        Files.writeString(file, "{\"allocations\":7}");
        Ipam broken = ipam("10.42.3.0/29");
        assertThat(broken.problem()).contains("cannot be read");
        Files.delete(file); // the admin's other remedy, once the node's pods are gone
        assertThat(broken.problem()).isNull();
        assertThat(broken.allocate("first", "eth0", null, null)).extracting(Ipam.Allocation::address).containsExactly("10.42.3.2");
    }
}
