package io.wiremesh.operator.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One block of every pool for each joining node, lowest free first, never one block twice. */
class NodeBlocksTest {
    static final Pool V4 = new Pool(Cidr.parse("10.42.0.0/22"), 24);
    static final Pool V6 = new Pool(Cidr.parse("fd42::/110"), 112);

    @Test
    void aJoiningNodeGetsTheLowestFreeBlockOfEachPoolInPoolOrder() {
        NodeBlocks blocks = new NodeBlocks(List.of(V6, V4), BlockAllocatorTest.cidrs("10.42.0.0/24", "fd42::1:0/112"));
        assertThat(blocks.forNewNode()).contains(BlockAllocatorTest.cidrs("fd42::/112", "10.42.1.0/24"));
        assertThat(blocks.forNewNode()).as("taken for the rest of the pass").contains(BlockAllocatorTest.cidrs("fd42::2:0/112", "10.42.2.0/24"));
        assertThat(blocks.free()).isEqualTo(1);
    }

    @Test
    void aFullPoolStopsTheJoinAndKeepsWhatItTookFromTheOthers() {
        NodeBlocks blocks = new NodeBlocks(List.of(V4, V6), BlockAllocatorTest.cidrs("fd42::/112", "fd42::1:0/112", "fd42::2:0/112"));
        assertThat(blocks.forNewNode()).contains(BlockAllocatorTest.cidrs("10.42.0.0/24", "fd42::3:0/112"));
        assertThat(blocks.forNewNode()).isEmpty();
        assertThat(blocks.free()).isZero();
        assertThat(blocks.forNewNode()).isEmpty();
        assertThat(blocks.describe()).isEqualTo("10.42.0.0/22 (4 blocks of /24), fd42::/110 (4 blocks of /112)");
    }

    @Test
    void noPoolsNoFreeBlocks() {
        NodeBlocks none = new NodeBlocks(List.of(), List.of());
        assertThat(none.free()).isZero();
        assertThat(none.forNewNode()).contains(List.of());
        assertThat(none.describe()).isEmpty();
    }

    @Test
    void aPoolSmallerThanItsBlocksIsRefused() {
        assertThatThrownBy(() -> new NodeBlocks(List.of(new Pool(Cidr.parse("10.42.0.0/25"), 24)), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
