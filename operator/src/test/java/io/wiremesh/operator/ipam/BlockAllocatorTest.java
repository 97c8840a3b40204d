package io.wiremesh.operator.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import java.math.BigInteger;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The lowest free aligned block of one pool, around what is in use. */
class BlockAllocatorTest {
    static List<Cidr> cidrs(String... s) {
        return java.util.Arrays.stream(s).map(Cidr::parse).toList();
    }

    @Test
    void theLowestFreeBlockFirst() {
        BlockAllocator a = new BlockAllocator(Cidr.parse("10.42.0.0/16"), 24, cidrs("10.42.0.0/24", "10.42.2.0/24"));
        assertThat(a.allocate()).contains(Cidr.parse("10.42.1.0/24"));
        assertThat(a.allocate()).contains(Cidr.parse("10.42.3.0/24"));
        assertThat(a.allocated()).isEqualTo(4);
        assertThat(a.free()).isEqualTo(252);
        assertThat(a.capacity()).isEqualTo(BigInteger.valueOf(256));
    }

    @Test
    void blocksOfAnotherSizeAndOutsideThePoolAreRespectedOrIgnored() {
        // A /23 from an earlier nodeBlockSize covers two /24s; a /26 makes its whole /24 unusable; others' ranges do not count.
        BlockAllocator a = new BlockAllocator(Cidr.parse("10.42.0.0/16"), 24,
                cidrs("10.42.0.0/23", "10.42.2.64/26", "10.43.0.0/24", "fd42::/112"));
        assertThat(a.allocated()).isEqualTo(2);
        assertThat(a.allocate()).contains(Cidr.parse("10.42.3.0/24"));
        assertThat(a.allocate()).contains(Cidr.parse("10.42.4.0/24"));
    }

    @Test
    void aFullPoolHasNoBlock() {
        BlockAllocator a = new BlockAllocator(Cidr.parse("10.42.0.0/23"), 24, cidrs("10.42.1.0/24"));
        assertThat(a.allocate()).contains(Cidr.parse("10.42.0.0/24"));
        assertThat(a.allocate()).isEqualTo(Optional.empty());
        assertThat(a.free()).isZero();
    }

    @Test
    void ipv6AndHugePools() {
        BlockAllocator a = new BlockAllocator(Cidr.parse("fd42::/64"), 112, cidrs("fd42::/112"));
        assertThat(a.allocate()).contains(Cidr.parse("fd42::1:0/112"));
        assertThat(a.free()).isEqualTo((1L << 48) - 2);
        assertThat(new BlockAllocator(Cidr.parse("fd00::/8"), 120, List.of()).free()).as("capped").isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aBlockLargerThanThePoolIsRefused() {
        assertThatThrownBy(() -> new BlockAllocator(Cidr.parse("10.42.0.0/25"), 24, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("block /24 is larger than pool 10.42.0.0/25");
    }
}
