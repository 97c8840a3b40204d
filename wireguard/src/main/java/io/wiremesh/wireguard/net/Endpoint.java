package io.wiremesh.wireguard.net;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Where a peer is (its UDP address and port) and which of our own addresses it last sent to: replies
 * leave from that address ("sticky sockets", as the kernel module's {@code struct endpoint} and
 * wireguard-go's conn.Endpoint), so on a multi-homed gateway they are not sent from another address
 * that NAT or a firewall on the way back would drop. Immutable; compared by both parts.
 */
public final class Endpoint {
    private final InetSocketAddress address;
    private final InetAddress source;
    // Raw forms for the socket layer, made once so that sending allocates nothing: 16-byte addresses
    // (IPv4 as v4-mapped ::ffff:a.b.c.d), whether each is IPv4, the port and the IPv6 scope.
    final byte[] address16;
    final boolean v4;
    final int port;
    final int scopeId;
    final byte[] source16;
    final boolean sourceV4;

    private Endpoint(InetSocketAddress address, InetAddress source) {
        this.address = Objects.requireNonNull(address);
        this.source = source;
        if (address.getAddress() == null) throw new IllegalArgumentException("unresolved endpoint " + address);
        this.address16 = bytes16(address.getAddress());
        this.v4 = address.getAddress() instanceof java.net.Inet4Address;
        this.port = address.getPort();
        this.scopeId = address.getAddress() instanceof java.net.Inet6Address a6 ? a6.getScopeId() : 0;
        this.source16 = source == null ? null : bytes16(source);
        this.sourceV4 = source instanceof java.net.Inet4Address;
    }

    private static byte[] bytes16(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) return b;
        byte[] m = new byte[16];
        m[10] = (byte) 0xff;
        m[11] = (byte) 0xff;
        System.arraycopy(b, 0, m, 12, 4);
        return m;
    }

    /** A configured endpoint (UAPI {@code endpoint=}): no source yet, the kernel's routing picks one. */
    public static Endpoint of(InetSocketAddress address) {
        return new Endpoint(address, null);
    }

    /** A received packet's endpoint: its source {@code address}, sent to our {@code source} (null: unknown). */
    public static Endpoint of(InetSocketAddress address, InetAddress source) {
        return new Endpoint(address, source);
    }

    /** The peer's address and UDP port. */
    public InetSocketAddress address() {
        return address;
    }

    /** Our address the peer last sent to, which replies leave from; null when unknown or cleared. */
    public InetAddress source() {
        return source;
    }

    /** The same peer address with no source: after the source stopped being usable (address removed). */
    public Endpoint withoutSource() {
        return source == null ? this : new Endpoint(address, null);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Endpoint e && address.equals(e.address) && Objects.equals(source, e.source);
    }

    @Override
    public int hashCode() {
        return address.hashCode() * 31 + Objects.hashCode(source);
    }

    /** {@code address} alone, as {@code wg show} prints endpoints; with {@code -> source} when sticky. */
    @Override
    public String toString() {
        return source == null ? address.toString() : address + " -> " + source.getHostAddress();
    }
}
