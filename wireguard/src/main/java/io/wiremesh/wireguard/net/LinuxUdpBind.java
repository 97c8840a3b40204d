package io.wiremesh.wireguard.net;

import com.kenai.jffi.MemoryIO;
import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * The device's UDP socket on Linux, with sticky source addresses: one dual-stack socket (IPv4
 * through v4-mapped addresses; IPv4 only where the namespace has no IPv6), read with recvmsg(2) and
 * written with sendmsg(2) through jnr-ffi so that each datagram carries its local address as a
 * control message — IP_PKTINFO / IPV6_PKTINFO (RFC 3542 section 6, ip(7), ipv6(7)). A received
 * packet's {@link Endpoint} holds the address the peer sent to; a reply to that endpoint leaves from
 * it. If that address is no longer the host's (sendmsg refuses it), the datagram is sent again
 * without it and {@link #send} returns false, so the caller forgets the source, as the kernel module
 * does.
 *
 * <p>No per-packet allocation in steady state: receive and send use native scratch memory made once
 * (per receiving thread, and per sending thread), and endpoints come from a small cache keyed by
 * the raw addresses, so a peer's packets return the same {@link Endpoint} object.
 */
public final class LinuxUdpBind implements Bind {
    private static final LibC C = LibC.INSTANCE;
    private static final MemoryIO IO = MemoryIO.getInstance();
    private static final int IPV6_V6ONLY = 26, IPV6_RECVPKTINFO = 49;
    private static final int SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    private static final int EINVAL = 22, EAFNOSUPPORT = 97, EADDRNOTAVAIL = 99, ENETUNREACH = 101, SHUT_RDWR = 2;
    // x86_64/aarch64 layouts: struct msghdr (56 bytes), struct iovec (16), sockaddr_in6 (28 + 4 pad), cmsg buffer, a 16-byte address.
    private static final int MSG_NAME = 0, MSG_NAMELEN = 8, MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32, MSG_CONTROLLEN = 40, MSG_FLAGS = 48;
    private static final int MSGHDR = 56, IOVEC = 16, SOCKADDR = 32, CONTROL = 64, ADDRESS = 16;

    private final int fd;
    private final boolean v6;
    private final int port;
    private final AtomicInteger users = new AtomicInteger();
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private final Scratch recv = new Scratch();
    private final ThreadLocal<Scratch> sendScratch = ThreadLocal.withInitial(Scratch::new);
    private final EndpointCache endpoints = new EndpointCache();

    /** One sendmsg/recvmsg's native structures: msghdr -> iovec, sockaddr_in6, control buffer, and a bounce buffer. */
    private static final class Scratch {
        final Pointer mem = Memory.allocateDirect(LibC.runtime(), MSGHDR + IOVEC + SOCKADDR + CONTROL + ADDRESS, true);
        final long base = mem.address();
        final long iov = base + MSGHDR, name = iov + IOVEC, control = name + SOCKADDR, address = control + CONTROL;
        final ByteBuffer bounce = ByteBuffer.allocateDirect(2048);

        Scratch() {
            IO.putAddress(base + MSG_NAME, name);
            IO.putAddress(base + MSG_IOV, iov);
            IO.putLong(base + MSG_IOVLEN, 1);
            IO.putAddress(base + MSG_CONTROL, control);
        }
    }

    private LinuxUdpBind(int fd, boolean v6, int port) {
        this.fd = fd;
        this.v6 = v6;
        this.port = port;
    }

    /**
     * Opens and binds the socket on {@code port} (0: a free port) on every address.
     *
     * @throws IOException when the port is taken or the socket cannot be made (errno text)
     */
    public static LinuxUdpBind open(int port) throws IOException {
        boolean v6 = true;
        int fd = C.socket(SocketAddresses.AF_INET6, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0 && LibC.errno() != EAFNOSUPPORT) throw new IOException("socket(AF_INET6): " + C.strerror(LibC.errno()));
        if (fd < 0) {
            // No IPv6 in this kernel: IPv4 only.
            v6 = false;
            fd = C.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
            if (fd < 0) throw new IOException("socket: " + C.strerror(LibC.errno()));
        }
        try {
            if (v6) {
                setInt(fd, ControlMessages.IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
                setInt(fd, ControlMessages.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
            }
            // Also on the dual-stack socket: IPv4 datagrams then carry their destination too.
            setInt(fd, ControlMessages.IPPROTO_IP, ControlMessages.IP_PKTINFO, 1, "IP_PKTINFO");
            // 4 MiB each way, beyond rmem_max where we may (CAP_NET_ADMIN), as wireguard-go does.
            if (!trySetInt(fd, LibC.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)) trySetInt(fd, LibC.SOL_SOCKET, SO_RCVBUF, 4 << 20);
            if (!trySetInt(fd, LibC.SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20)) trySetInt(fd, LibC.SOL_SOCKET, SO_SNDBUF, 4 << 20);
            Pointer sa = Memory.allocateDirect(LibC.runtime(), SOCKADDR, true);
            int len = SocketAddresses.writeAny(sa.address(), v6, port);
            if (C.bind(fd, sa, len) < 0) {
                int err = LibC.errno();
                throw new IOException("bind UDP port " + port + ": " + C.strerror(err));
            }
            Pointer lenBox = Memory.allocateDirect(LibC.runtime(), 4, true);
            lenBox.putInt(0, SOCKADDR);
            if (C.getsockname(fd, sa, lenBox) < 0) throw new IOException("getsockname: " + C.strerror(LibC.errno()));
            return new LinuxUdpBind(fd, v6, SocketAddresses.port(sa.address()));
        } catch (IOException | RuntimeException e) {
            C.close(fd);
            throw e;
        }
    }

    private static void setInt(int fd, int level, int option, int value, String name) throws IOException {
        if (!trySetInt(fd, level, option, value)) throw new IOException("setsockopt(" + name + "): " + C.strerror(LibC.errno()));
    }

    private static boolean trySetInt(int fd, int level, int option, int value) {
        Pointer v = Memory.allocateDirect(LibC.runtime(), 4, true);
        v.putInt(0, value);
        return C.setsockopt(fd, level, option, v, 4) == 0;
    }

    /** Receives one datagram into {@code dst} (from its position); only the receiving thread calls this. */
    @Override
    public Endpoint receive(ByteBuffer dst) throws IOException {
        if (!enter()) return null;
        try {
            Scratch s = recv;
            while (true) {
                IO.putAddress(s.iov, IO.getDirectBufferAddress(dst) + dst.position());
                IO.putLong(s.iov + 8, dst.remaining());
                IO.putInt(s.base + MSG_NAMELEN, SOCKADDR);
                IO.putLong(s.base + MSG_CONTROLLEN, CONTROL);
                IO.putInt(s.base + MSG_FLAGS, 0);
                long n = C.recvmsg(fd, s.mem, 0);
                if (closed) return null;
                if (n < 0) {
                    int err = LibC.errno();
                    if (err == LibC.EINTR) continue;
                    throw new IOException("recvmsg: " + C.strerror(err));
                }
                dst.position(dst.position() + (int) n);
                int dstLen = ControlMessages.destination(s.control, IO.getLong(s.base + MSG_CONTROLLEN), s.address);
                return endpoints.lookup(s.name, s.address, dstLen);
            }
        } finally {
            users.decrementAndGet();
        }
    }

    @Override
    public boolean send(ByteBuffer src, Endpoint to) throws IOException {
        if (!enter()) throw new IOException("socket closed");
        try {
            Scratch s = sendScratch.get();
            ByteBuffer data = src;
            if (!src.isDirect()) {
                data = s.bounce.clear();
                data.put(src.duplicate()).flip();
            }
            IO.putAddress(s.iov, IO.getDirectBufferAddress(data) + data.position());
            IO.putLong(s.iov + 8, data.remaining());
            IO.putInt(s.base + MSG_NAMELEN, SocketAddresses.write(s.name, v6, to));
            // Sticky only within a family: an IPv4 peer is answered from an IPv4 address.
            boolean sticky = to.source16 != null && to.sourceV4 == to.v4;
            if (sticky) {
                IO.putLong(s.base + MSG_CONTROLLEN, ControlMessages.writeSource(s.control, to));
            } else {
                IO.putLong(s.base + MSG_CONTROLLEN, 0);
            }
            IO.putInt(s.base + MSG_FLAGS, 0);
            long n = C.sendmsg(fd, s.mem, 0);
            if (n < 0 && sticky && staleSource(LibC.errno())) {
                // Our source address is gone (or no longer routable towards the peer): let routing choose.
                IO.putLong(s.base + MSG_CONTROLLEN, 0);
                n = C.sendmsg(fd, s.mem, 0);
                if (n < 0) throw new IOException("sendmsg: " + C.strerror(LibC.errno()));
                consume(src, n);
                return false;
            }
            if (n < 0) throw new IOException("sendmsg to " + to.address() + ": " + C.strerror(LibC.errno()));
            consume(src, n);
            return true;
        } finally {
            users.decrementAndGet();
        }
    }

    /**
     * The errors sendmsg gives for a source address that is not (any longer) the host's: IPv6 EINVAL,
     * IPv4 ENETUNREACH (the route lookup with that source fails), EADDRNOTAVAIL. A real lack of route
     * fails again without the source and is reported then.
     */
    private static boolean staleSource(int errno) {
        return errno == EINVAL || errno == ENETUNREACH || errno == EADDRNOTAVAIL;
    }

    private static void consume(ByteBuffer src, long n) {
        src.position(src.position() + (int) n);
    }

    private boolean enter() {
        users.incrementAndGet();
        if (closed) {
            users.decrementAndGet();
            return false;
        }
        return true;
    }

    @Override
    public int port() {
        return port;
    }

    /** SO_MARK (needs CAP_NET_ADMIN); 0 clears it. */
    @Override
    public void setMark(int mark) throws IOException {
        if (!enter()) throw new IOException("socket closed");
        try {
            setInt(fd, LibC.SOL_SOCKET, LibC.SO_MARK, mark, "SO_MARK");
        } finally {
            users.decrementAndGet();
        }
    }

    /** Wakes a blocked receive (shutdown(2)), waits for calls in flight, then closes the descriptor. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) return; // the descriptor is closed once, never a reused number
        closed = true;
        C.shutdown(fd, SHUT_RDWR);
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (users.get() > 0 && System.nanoTime() < deadline) java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        // After the deadline a stuck call keeps the descriptor number: never close it under a caller.
        if (users.get() == 0) C.close(fd);
    }

    /**
     * Endpoints seen recently, in a direct-mapped table keyed by the raw bytes (peer address, port and
     * IPv6 scope; our address), so each peer's packets map to one {@link Endpoint} object without
     * allocating, for up to a few hundred active peers. Only the receiving thread uses it.
     */
    private static final class EndpointCache {
        private static final int SLOTS = 512; // a power of two
        private static final int KEY = 6;
        private final long[] keys = new long[SLOTS * KEY];
        private final Endpoint[] values = new Endpoint[SLOTS];

        /** The endpoint for the sockaddr at {@code sockaddr} and the destination {@code dstLen} bytes at {@code destination}. */
        Endpoint lookup(long sockaddr, long destination, int dstLen) throws IOException {
            // family, port, flowinfo, the 16 address bytes, the scope id (sockaddr_in: family, port, address; the rest constant)
            long a0 = IO.getLong(sockaddr), a1 = IO.getLong(sockaddr + 8), a2 = IO.getLong(sockaddr + 16), a3 = IO.getInt(sockaddr + 24);
            long d0 = dstLen == 0 ? -1 : IO.getLong(destination), d1 = dstLen == 0 ? -1 : IO.getLong(destination + 8);
            long h = a0 * 0x9E3779B97F4A7C15L ^ a1 * 0xC2B2AE3D27D4EB4FL ^ a2 * 0x165667B19E3779F9L ^ a3 ^ d0 * 31 ^ d1;
            int i = (int) (h ^ h >>> 29) & SLOTS - 1;
            int k = i * KEY;
            if (values[i] != null && keys[k] == a0 && keys[k + 1] == a1 && keys[k + 2] == a2 && keys[k + 3] == a3
                    && keys[k + 4] == d0 && keys[k + 5] == d1) {
                return values[i];
            }
            Endpoint e = Endpoint.of(SocketAddresses.read(sockaddr), dstLen == 0 ? null : ControlMessages.address(destination, dstLen));
            keys[k] = a0;
            keys[k + 1] = a1;
            keys[k + 2] = a2;
            keys[k + 3] = a3;
            keys[k + 4] = d0;
            keys[k + 5] = d1;
            values[i] = e;
            return e;
        }
    }
}
