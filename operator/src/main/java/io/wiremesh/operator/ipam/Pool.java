package io.wiremesh.operator.ipam;

import io.wiremesh.api.net.Cidr;

/**
 * A pod address pool and the size of the block each node gets from it, e.g. 10.42.0.0/16 in /24s
 * (spec.podCIDRs and spec.nodeBlockSize of one family).
 *
 * @param cidr      the pool
 * @param blockBits the prefix length of a node's block, at least {@code cidr.bits()}
 */
public record Pool(Cidr cidr, int blockBits) {}
