package io.wiremesh.operator.ipam;

import io.wiremesh.api.net.Cidr;
import java.math.BigInteger;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Hands out the lowest free, aligned block of one size from one pool. What is in use comes from
 * the API objects (the WireGuardNodes), never from memory, so a restart rebuilds the same view and
 * nothing moves. Blocks of another size (from an earlier nodeBlockSize) are respected too.
 */
public final class BlockAllocator {
    private final Cidr pool;
    private final int blockBits;
    private final BigInteger blockSize;
    /** Used address ranges inside the pool: first -> last (inclusive), non-overlapping. */
    private final TreeMap<BigInteger, BigInteger> used = new TreeMap<>();
    private long allocated;

    /**
     * @param pool      the range blocks are taken from
     * @param blockBits the prefix length of each block handed out
     * @param inUse     blocks held already, of any size; those outside {@code pool} are ignored
     * @throws IllegalArgumentException when a block would be larger than the pool
     */
    public BlockAllocator(Cidr pool, int blockBits, Collection<Cidr> inUse) {
        if (blockBits < pool.bits()) throw new IllegalArgumentException("block /" + blockBits + " is larger than pool " + pool);
        this.pool = pool;
        this.blockBits = blockBits;
        this.blockSize = BigInteger.ONE.shiftLeft(pool.totalBits() - blockBits);
        for (Cidr c : inUse) if (pool.overlaps(c)) markUsed(c);
    }

    private void markUsed(Cidr c) {
        used.merge(c.network(), c.last(), BigInteger::max);
        allocated++;
    }

    /** The lowest free block, or empty when the pool is exhausted. */
    public Optional<Cidr> allocate() {
        BigInteger candidate = pool.network();
        BigInteger poolLast = pool.last();
        while (candidate.add(blockSize).subtract(BigInteger.ONE).compareTo(poolLast) <= 0) {
            BigInteger end = candidate.add(blockSize).subtract(BigInteger.ONE);
            Map.Entry<BigInteger, BigInteger> e = used.floorEntry(end);
            if (e == null || e.getValue().compareTo(candidate) < 0) {
                Cidr block = new Cidr(candidate, blockBits, pool.v6());
                markUsed(block);
                return Optional.of(block);
            }
            // Jump past the range in the way, to the next aligned block.
            BigInteger offset = e.getValue().add(BigInteger.ONE).subtract(pool.network());
            BigInteger[] qr = offset.divideAndRemainder(blockSize);
            BigInteger blocks = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
            candidate = pool.network().add(blocks.multiply(blockSize));
        }
        return Optional.empty();
    }

    /** Blocks this pool holds at the current size. */
    public BigInteger capacity() {
        return pool.blockCount(blockBits);
    }

    /** Blocks in use: those given to the constructor inside the pool (whatever their size) and those allocated since. */
    public long allocated() {
        return allocated;
    }

    /** Free blocks (capped at Long.MAX_VALUE for huge IPv6 pools). */
    public long free() {
        BigInteger f = capacity().subtract(BigInteger.valueOf(allocated)).max(BigInteger.ZERO);
        return f.bitLength() < 63 ? f.longValue() : Long.MAX_VALUE;
    }

    /** The range blocks are taken from. */
    public Cidr pool() {
        return pool;
    }

    /** The prefix length of the blocks handed out. */
    public int blockBits() {
        return blockBits;
    }
}
