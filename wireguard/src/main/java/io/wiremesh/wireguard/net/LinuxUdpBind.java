package io.wiremesh.wireguard.net;

import com.kenai.jffi.MemoryIO;
import io.wiremesh.wireguard.offload.Fallbacks;
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
    private static final int MSGHDR = 56, IOVEC = 16, SOCKADDR = 32, CONTROL = 96, ADDRESS = 16;

    private final int fd;
    private final boolean v6;
    private final int port;
    private final AtomicInteger users = new AtomicInteger();
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private final Scratch recv = new Scratch();
    private final ThreadLocal<Scratch> sendScratch = ThreadLocal.withInitial(Scratch::new);
    private final EndpointCache endpoints = new EndpointCache();
    private final ReceiveBatch recvBatch = new ReceiveBatch();
    private final ThreadLocal<SendBatch> sendBatch = ThreadLocal.withInitial(SendBatch::new);
    /** UDP_SEGMENT on send; cleared for good the first time the kernel refuses it. */
    private volatile boolean segmentation;
    /** UDP_GRO on receive: the kernel hands over runs of datagrams in one read; null without it. */
    private final Coalesced coalesced;
    private final ByteBuffer[] oneBuffer = new ByteBuffer[1];
    private final Endpoint[] oneSource = new Endpoint[1];

    /** Datagrams per recvmmsg(2); also the most one segmented sendmsg carries (the kernel's UDP_MAX_SEGMENTS is 64). */
    public static final int BATCH = 64;
    /** The most payload bytes one segmented sendmsg carries: an IPv6 datagram's 65,535 less its headers, with room to spare. */
    private static final int MAX_SEGMENTED = 65_000;
    private static final int MMSGHDR = 64, MSG_WAITFORONE = 0x10000, EIO = 5, EOPNOTSUPP = 95, ENOPROTOOPT = 92;
    /** Coalesced reads per recvmmsg, each up to 64 KiB (one GRO superpacket). */
    private static final int GRO_READS = 4, GRO_READ = 65_536;
    /** How long a batched receive waits before it returns nothing. */
    private static final int WAIT_MILLIS = 100;

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

    /** recvmmsg(2)'s structures for {@link #BATCH} datagrams: mmsghdr[], and per datagram an iovec, sockaddr_in6 and control buffer. */
    private static final class ReceiveBatch {
        final Pointer mem = Memory.allocateDirect(LibC.runtime(), BATCH * (MMSGHDR + IOVEC + SOCKADDR + CONTROL) + ADDRESS, true);
        final long base = mem.address();
        final long iovs = base + BATCH * MMSGHDR, names = iovs + BATCH * IOVEC, controls = names + BATCH * SOCKADDR;
        final long address = controls + BATCH * CONTROL;

        /** Points message {@code i} at {@code length} bytes of native memory at {@code address}, with room for its name and control data. */
        void offer(int i, long address, long length) {
            long h = base + i * MMSGHDR;
            long iov = iovs + i * IOVEC;
            IO.putAddress(iov, address);
            IO.putLong(iov + 8, length);
            IO.putInt(h + MSG_NAMELEN, SOCKADDR);
            IO.putLong(h + MSG_CONTROLLEN, CONTROL);
            IO.putInt(h + MSG_FLAGS, 0);
        }

        ReceiveBatch() {
            for (int i = 0; i < BATCH; i++) {
                long h = base + i * MMSGHDR;
                IO.putAddress(h + MSG_NAME, names + i * SOCKADDR);
                IO.putAddress(h + MSG_IOV, iovs + i * IOVEC);
                IO.putLong(h + MSG_IOVLEN, 1);
                IO.putAddress(h + MSG_CONTROL, controls + i * CONTROL);
            }
        }
    }

    /** One segmented sendmsg: msghdr -> up to {@link #BATCH} iovecs, sockaddr_in6, and room for UDP_SEGMENT plus packet info. */
    private static final class SendBatch {
        final Pointer mem = Memory.allocateDirect(LibC.runtime(), MSGHDR + BATCH * IOVEC + SOCKADDR + ControlMessages.SEGMENT_SPACE + CONTROL, true);
        final long base = mem.address();
        final long iovs = base + MSGHDR, name = iovs + BATCH * IOVEC, control = name + SOCKADDR;

        SendBatch() {
            IO.putAddress(base + MSG_NAME, name);
            IO.putAddress(base + MSG_IOV, iovs);
            IO.putAddress(base + MSG_CONTROL, control);
        }
    }

    /**
     * What the last coalesced recvmmsg returned and how much of it was handed out: per read, its
     * buffer, length, segment size and source; the next datagram is at {@code offset} of read
     * {@code next}. Receiving thread only.
     */
    private static final class Coalesced {
        final ByteBuffer[] reads = new ByteBuffer[GRO_READS];
        final int[] length = new int[GRO_READS], segment = new int[GRO_READS];
        final Endpoint[] source = new Endpoint[GRO_READS];
        int count, next, offset;

        Coalesced() {
            for (int i = 0; i < GRO_READS; i++) reads[i] = ByteBuffer.allocateDirect(GRO_READ);
        }

        boolean drained() {
            return next >= count;
        }

        /** Copies the next datagrams into {@code packets} (as {@link Bind#receive(ByteBuffer[], Endpoint[], int)} fills them). */
        int drain(ByteBuffer[] packets, Endpoint[] sources, int max) {
            int n = 0;
            while (n < max && next < count) {
                ByteBuffer dst = packets[n];
                int len = Math.min(Math.min(segment[next], length[next] - offset), dst.remaining());
                dst.put(dst.position(), reads[next], offset, len);
                dst.limit(dst.position() + len);
                sources[n++] = source[next];
                offset += segment[next];
                if (offset >= length[next]) {
                    source[next] = null;
                    next++;
                    offset = 0;
                }
            }
            return n;
        }
    }

    private LinuxUdpBind(int fd, boolean v6, int port, boolean segmentation, boolean gro) {
        this.fd = fd;
        this.v6 = v6;
        this.port = port;
        this.segmentation = segmentation;
        this.coalesced = gro ? new Coalesced() : null;
    }

    /**
     * Opens and binds the socket on {@code port} (0: a free port) on every address.
     *
     * @throws IOException when the port is taken or the socket cannot be made (errno text)
     */
    public static LinuxUdpBind open(int port) throws IOException {
        return open(port, true);
    }

    /**
     * As {@link #open(int)}; {@code segmentation} false never uses UDP_SEGMENT (one datagram per
     * sendmsg), for comparisons and for kernels that misbehave with it.
     */
    public static LinuxUdpBind open(int port, boolean segmentation) throws IOException {
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
            // Offloads both ways: with UDP_GRO the kernel keeps a peer's segmented send whole up to our read.
            boolean gro = segmentation && trySetInt(fd, ControlMessages.SOL_UDP, ControlMessages.UDP_GRO, 1);
            boundedWait(fd);
            return new LinuxUdpBind(fd, v6, SocketAddresses.port(sa.address()), segmentation, gro);
        } catch (IOException | RuntimeException e) {
            C.close(fd);
            throw e;
        }
    }

    /**
     * Adopts a UDP socket a predecessor passed over ({@code handover}): bound, with its options set
     * and its queue of received datagrams intact; {@code segmentation} and {@code gro} as the
     * predecessor had them.
     *
     * @throws IOException the descriptor is not a bound IPv4/IPv6 socket
     */
    public static LinuxUdpBind adopt(int fd, boolean segmentation, boolean gro) throws IOException {
        Pointer sa = Memory.allocateDirect(LibC.runtime(), SOCKADDR, true);
        Pointer lenBox = Memory.allocateDirect(LibC.runtime(), 4, true);
        lenBox.putInt(0, SOCKADDR);
        if (C.getsockname(fd, sa, lenBox) < 0) throw new IOException("getsockname on the inherited socket: " + C.strerror(LibC.errno()));
        int family = sa.getShort(0) & 0xffff;
        if (family != SocketAddresses.AF_INET6 && family != LibC.AF_INET) throw new IOException("the inherited descriptor is not a UDP/IP socket (family " + family + ")");
        boundedWait(fd);
        return new LinuxUdpBind(fd, family == SocketAddresses.AF_INET6, SocketAddresses.port(sa.address()), segmentation, gro);
    }

    @Override
    public boolean pending() {
        return coalesced != null && !coalesced.drained();
    }

    /** The socket's descriptor, to pass to a successor. */
    public int fd() {
        return fd;
    }

    /** Whether sends use UDP_SEGMENT (a successor asks for the same). */
    public boolean segmentation() {
        return segmentation;
    }

    /** Whether receives are coalesced (UDP_GRO is set on the socket). */
    public boolean gro() {
        return coalesced != null;
    }

    /**
     * Closes this process's descriptor only, without shutdown(2): the socket is shared with a successor
     * that holds its own descriptor and goes on receiving on it. The caller's threads no longer use this bind.
     */
    @Override
    public void release() {
        if (!closing.compareAndSet(false, true)) return;
        closed = true;
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (users.get() > 0 && System.nanoTime() < deadline) java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        if (users.get() == 0) C.close(fd);
    }

    /**
     * A receive waits at most {@link #WAIT_MILLIS} (SO_RCVTIMEO), then returns nothing, so the reader
     * can look at its gate (a handover) and call again; the option belongs to the socket, so a
     * successor's descriptor has it too.
     */
    private static void boundedWait(int fd) {
        Pointer tv = Memory.allocateDirect(LibC.runtime(), 16, true);
        tv.putLong(0, 0);
        tv.putLong(8, WAIT_MILLIS * 1000L);
        C.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, tv, 16);
    }

    private static void setInt(int fd, int level, int option, int value, String name) throws IOException {
        if (!trySetInt(fd, level, option, value)) throw new IOException("setsockopt(" + name + "): " + C.strerror(LibC.errno()));
    }

    static boolean trySetInt(int fd, int level, int option, int value) {
        Pointer v = Memory.allocateDirect(LibC.runtime(), 4, true);
        v.putInt(0, value);
        return C.setsockopt(fd, level, option, v, 4) == 0;
    }

    /** Receives one datagram into {@code dst} (from its position); only the receiving thread calls this. */
    @Override
    public Endpoint receive(ByteBuffer dst) throws IOException {
        if (coalesced != null) {
            // A read may hold several datagrams: take them one at a time through the batch path.
            oneBuffer[0] = dst.duplicate();
            int n = receiveCoalesced(oneBuffer, oneSource, 1);
            if (n <= 0) return null;
            dst.position(oneBuffer[0].limit());
            Endpoint from = oneSource[0];
            oneSource[0] = null;
            return from;
        }
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
                    if (err == LibC.EINTR || err == LibC.EAGAIN) continue; // one datagram: keeps waiting
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
     * recvmmsg(2) with MSG_WAITFORONE: blocks for one datagram, then takes what else is queued. With
     * UDP_GRO a read may hold a run of datagrams of one size from one source; they are handed out one
     * per buffer, over several calls if need be. Receiving thread only.
     */
    @Override
    public int receive(ByteBuffer[] packets, Endpoint[] sources, int count) throws IOException {
        if (coalesced != null) return receiveCoalesced(packets, sources, count);
        if (!enter()) return -1;
        try {
            ReceiveBatch r = recvBatch;
            int n = Math.min(count, BATCH);
            for (int i = 0; i < n; i++) {
                ByteBuffer b = packets[i];
                r.offer(i, IO.getDirectBufferAddress(b) + b.position(), b.remaining());
            }
            int got = recvmmsg(r, n);
            if (got < 0) return -1;
            for (int i = 0; i < got; i++) {
                long h = r.base + i * MMSGHDR;
                ByteBuffer b = packets[i];
                b.limit(b.position() + IO.getInt(h + MSGHDR));
                int dstLen = ControlMessages.destination(r.controls + i * CONTROL, IO.getLong(h + MSG_CONTROLLEN), r.address);
                sources[i] = endpoints.lookup(r.names + i * SOCKADDR, r.address, dstLen);
            }
            return got;
        } finally {
            users.decrementAndGet();
        }
    }

    /** recvmmsg(2) of up to {@code n} messages set up in {@code r} (MSG_WAITFORONE), retried on EINTR; -1 once closed. */
    private int recvmmsg(ReceiveBatch r, int n) throws IOException {
        while (true) {
            int got = C.recvmmsg(fd, r.mem, n, MSG_WAITFORONE, null);
            if (closed) return -1;
            if (got >= 0) return got;
            int err = LibC.errno();
            if (err == LibC.EAGAIN) return 0; // nothing within the bounded wait
            if (err != LibC.EINTR) throw new IOException("recvmmsg: " + C.strerror(err));
        }
    }

    private int receiveCoalesced(ByteBuffer[] packets, Endpoint[] sources, int count) throws IOException {
        if (!enter()) return -1;
        try {
            Coalesced c = coalesced;
            if (c.drained()) {
                ReceiveBatch r = recvBatch;
                for (int i = 0; i < GRO_READS; i++) r.offer(i, IO.getDirectBufferAddress(c.reads[i]), GRO_READ);
                int got = recvmmsg(r, GRO_READS);
                if (got < 0) return -1;
                for (int i = 0; i < got; i++) {
                    long h = r.base + i * MMSGHDR;
                    long control = r.controls + i * CONTROL, controlLength = IO.getLong(h + MSG_CONTROLLEN);
                    int length = IO.getInt(h + MSGHDR);
                    int segment = ControlMessages.segmentSize(control, controlLength);
                    c.length[i] = length;
                    c.segment[i] = segment > 0 ? segment : Math.max(length, 1);
                    int dstLen = ControlMessages.destination(control, controlLength, r.address);
                    c.source[i] = endpoints.lookup(r.names + i * SOCKADDR, r.address, dstLen);
                }
                c.count = got;
                c.next = 0;
                c.offset = 0;
            }
            return c.drain(packets, sources, count);
        } finally {
            users.decrementAndGet();
        }
    }

    /**
     * Sends runs of equal-sized datagrams (the last of a run may be shorter) in one sendmsg each with
     * UDP_SEGMENT, so the kernel makes the datagrams (udp(7) generic segmentation offload); up to
     * {@link #BATCH} datagrams and {@link #MAX_SEGMENTED} bytes per call. A run the kernel refuses is re-sent
     * one datagram per sendmsg, whatever the errno (never dropped: the single sends meet what they meet), and
     * counted when that worked ({@link Fallbacks}); segmentation stops for good only when the kernel cannot do it at
     * all (EOPNOTSUPP, ENOPROTOOPT) or not for this socket's traffic (EIO: no checksum offload on the way, IPsec). An
     * EINVAL is about this run or its path (a segment above the path's MTU) and the next run tries again. A failed
     * datagram does not stop the others: the first failure is thrown once all were tried.
     */
    @Override
    public boolean send(ByteBuffer[] packets, int count, Endpoint to) throws IOException {
        if (!segmentation || count == 1) return Bind.super.send(packets, count, to);
        if (!enter()) throw new IOException("socket closed");
        boolean sourceOk = true;
        IOException failed = null; // the first failure: thrown once every run was tried, so one datagram's error drops no other
        try {
            SendBatch sb = sendBatch.get();
            int i = 0;
            while (i < count) {
                int size = packets[i].remaining();
                int j = i + 1;
                long total = size;
                while (j < count && j - i < BATCH) {
                    int len = packets[j].remaining();
                    if (len > size || total + len > MAX_SEGMENTED) break;
                    total += len;
                    j++;
                    if (len < size) break; // only the last may be shorter
                }
                if (j - i == 1 || !packets[i].isDirect()) {
                    for (int k = i; k < j; k++) {
                        try {
                            sourceOk &= sendOne(packets[k], to);
                        } catch (IOException e) {
                            if (failed == null) failed = e;
                        }
                    }
                } else {
                    int sent = sendSegmented(sb, packets, i, j, size, to);
                    if (sent < 0) {
                        int singly = 0;
                        for (int k = i; k < j; k++) {
                            try {
                                sourceOk &= sendOne(packets[k], to);
                                singly++;
                            } catch (IOException e) {
                                if (failed == null) failed = e;
                            }
                        }
                        // Counted only when the run went out singly: then it was the segmentation that was refused, not the path.
                        if (singly > 0) {
                            boolean forGood = -sent == EOPNOTSUPP || -sent == ENOPROTOOPT || -sent == EIO;
                            Fallbacks.record(Fallbacks.Kind.UDP_SEGMENTATION, -sent, forGood ? "sending one datagram per system call from now on"
                                    : "runs it refuses are sent one datagram per system call");
                            if (forGood) segmentation = false;
                        }
                    } else if (sent == 0) {
                        sourceOk = false;
                    }
                }
                i = j;
            }
            if (failed != null) throw failed;
            return sourceOk;
        } finally {
            users.decrementAndGet();
        }
    }

    /** Single datagram through the batch path: position restored for the caller. */
    private boolean sendOne(ByteBuffer b, Endpoint to) throws IOException {
        int p = b.position();
        try {
            return send(b, to);
        } finally {
            b.position(p);
        }
    }

    /**
     * One sendmsg of {@code packets[from..to)} with UDP_SEGMENT {@code size}: 1 sent as asked, 0 sent
     * after dropping a stale source, -errno when the kernel refused it (the caller sends the run singly).
     */
    private int sendSegmented(SendBatch sb, ByteBuffer[] packets, int from, int to, int size, Endpoint ep) throws IOException {
        for (int k = from; k < to; k++) {
            ByteBuffer b = packets[k];
            long iov = sb.iovs + (k - from) * IOVEC;
            IO.putAddress(iov, IO.getDirectBufferAddress(b) + b.position());
            IO.putLong(iov + 8, b.remaining());
        }
        IO.putLong(sb.base + MSG_IOVLEN, to - from);
        IO.putInt(sb.base + MSG_NAMELEN, SocketAddresses.write(sb.name, v6, ep));
        long segment = ControlMessages.writeSegmentSize(sb.control, size);
        boolean sticky = ep.source16 != null && ep.sourceV4 == ep.v4;
        long control = segment + (sticky ? ControlMessages.writeSource(sb.control + segment, ep) : 0);
        IO.putLong(sb.base + MSG_CONTROLLEN, control);
        IO.putInt(sb.base + MSG_FLAGS, 0);
        long n = C.sendmsg(fd, sb.mem, 0);
        if (n >= 0) return 1;
        int err = LibC.errno();
        if (sticky && staleSource(err)) {
            IO.putLong(sb.base + MSG_CONTROLLEN, segment);
            n = C.sendmsg(fd, sb.mem, 0);
            if (n >= 0) return 0;
            err = LibC.errno();
        }
        return -err;
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
