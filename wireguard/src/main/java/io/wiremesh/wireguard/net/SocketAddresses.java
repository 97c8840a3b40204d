package io.wiremesh.wireguard.net;

import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * {@code struct sockaddr_in} / {@code sockaddr_in6} in native memory (ip(7), ipv6(7)): family in host
 * order, port and address in network order. A dual-stack socket reaches IPv4 peers through
 * v4-mapped addresses (RFC 4291 section 2.5.5.2), which read back as IPv4.
 */
final class SocketAddresses {
    static final short AF_INET = 2, AF_INET6 = 10;
    private static final MemoryIO IO = MemoryIO.getInstance();

    private SocketAddresses() {}

    /**
     * Writes {@code to} at {@code addr} for a socket of the given family; returns the length (16 or 28).
     *
     * @throws IOException for an IPv6 peer on an IPv4-only socket
     */
    static int write(long addr, boolean v6Socket, Endpoint to) throws IOException {
        if (v6Socket) {
            IO.putShort(addr, AF_INET6);
            IO.putShort(addr + 2, Short.reverseBytes((short) to.port));
            IO.putInt(addr + 4, 0);
            IO.putByteArray(addr + 8, to.address16, 0, 16);
            IO.putInt(addr + 24, to.scopeId);
            return 28;
        }
        if (!to.v4) throw new IOException("IPv6 endpoint " + to.address() + " on an IPv4-only socket (no IPv6 in this namespace)");
        IO.putShort(addr, AF_INET);
        IO.putShort(addr + 2, Short.reverseBytes((short) to.port));
        IO.putByteArray(addr + 4, to.address16, 12, 4);
        IO.putLong(addr + 8, 0);
        return 16;
    }

    /** The wildcard address of the socket's family on {@code port}, as bind(2) takes it; returns the length. */
    static int writeAny(long addr, boolean v6Socket, int port) {
        IO.setMemory(addr, v6Socket ? 28 : 16, (byte) 0);
        IO.putShort(addr, v6Socket ? AF_INET6 : AF_INET);
        IO.putShort(addr + 2, Short.reverseBytes((short) port));
        return v6Socket ? 28 : 16;
    }

    /** The port of a sockaddr_in or sockaddr_in6 (same offset in both). */
    static int port(long addr) {
        return Short.reverseBytes(IO.getShort(addr + 2)) & 0xffff;
    }

    /**
     * Reads a sockaddr_in or sockaddr_in6 (by its family field).
     *
     * @throws IOException for any other family
     */
    static InetSocketAddress read(long addr) throws IOException {
        short family = IO.getShort(addr);
        byte[] ip;
        if (family == AF_INET6) {
            ip = new byte[16];
            IO.getByteArray(addr + 8, ip, 0, 16);
            int scope = IO.getInt(addr + 24);
            InetAddress a = InetAddress.getByAddress(ip); // v4-mapped comes back as an Inet4Address
            if (scope != 0 && a instanceof java.net.Inet6Address) a = java.net.Inet6Address.getByAddress(null, ip, scope);
            return new InetSocketAddress(a, port(addr));
        }
        if (family == AF_INET) {
            ip = new byte[4];
            IO.getByteArray(addr + 4, ip, 0, 4);
            return new InetSocketAddress(InetAddress.getByAddress(ip), port(addr));
        }
        throw new IOException("unexpected address family " + family);
    }
}
