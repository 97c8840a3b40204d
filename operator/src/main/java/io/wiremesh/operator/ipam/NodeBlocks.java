package io.wiremesh.operator.ipam;

import io.wiremesh.api.net.Cidr;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The address blocks of one mesh's nodes across its pools (one pool per address family): a joining
 * node gets the lowest free block of every pool ({@link BlockAllocator}). Built at every pass from the
 * blocks the mesh's WireGuardNodes hold, never from memory, so a restart moves no block; the blocks
 * handed out during a pass count as used, so no two joiners of one pass share one.
 */
public final class NodeBlocks {
    private final List<BlockAllocator> allocators = new ArrayList<>();

    /**
     * @param pools the mesh's pools, in the order a node's blocks are listed (spec.podCIDRs)
     * @param inUse every block the mesh's nodes hold, of any pool and size (each pool keeps those inside it)
     * @throws IllegalArgumentException when a pool's blocks are larger than the pool
     */
    public NodeBlocks(List<Pool> pools, Collection<Cidr> inUse) {
        for (Pool p : pools) allocators.add(new BlockAllocator(p.cidr(), p.blockBits(), inUse));
    }

    /**
     * One block of every pool for a joining node, in pool order, taken from now on; empty when a pool
     * is full. The blocks of the pools before the full one stay taken for the rest of the pass.
     */
    public Optional<List<Cidr>> forNewNode() {
        List<Cidr> blocks = new ArrayList<>();
        for (BlockAllocator a : allocators) {
            Optional<Cidr> b = a.allocate();
            if (b.isEmpty()) return Optional.empty();
            blocks.add(b.get());
        }
        return Optional.of(List.copyOf(blocks));
    }

    /** The fewest free blocks of any pool (0 without pools): how many more nodes fit, as the status reports it. */
    public long free() {
        return allocators.stream().mapToLong(BlockAllocator::free).min().orElse(0);
    }

    /** The pools and their sizes for a message, e.g. {@code 10.42.0.0/16 (256 blocks of /24), fd42::/48 (65536 blocks of /64)}. */
    public String describe() {
        return allocators.stream().map(a -> a.pool() + " (" + a.capacity() + " blocks of /" + a.blockBits() + ")")
                .collect(Collectors.joining(", "));
    }
}
