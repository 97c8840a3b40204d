package io.wiremesh.wireguard.tun;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;
import io.wiremesh.wireguard.offload.TcpCoalescer;
import io.wiremesh.wireguard.offload.TcpSegmentation;
import io.wiremesh.wireguard.offload.VirtioNetHeader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A Linux TUN device (IFF_TUN | IFF_NO_PI) opened through /dev/net/tun with jnr-ffi. The fd is
 * non-blocking; a reader waits in poll(2) only when the queue is empty.
 *
 * <p>With offloads (the default) the device is opened with IFF_VNET_HDR and asks for checksum and
 * TCP segmentation offload (TUNSETOFFLOAD: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), as wireguard-go
 * does: the kernel then hands over TCP superpackets of up to 64 KiB, which
 * {@link #read(ByteBuffer[], int)} splits into MTU-sized segments ({@link TcpSegmentation}), and
 * {@link #write(ByteBuffer[], int)} merges consecutive TCP segments of a flow into one write
 * ({@link TcpCoalescer}). If the kernel refuses the offloads the device says so once and carries
 * on with one packet per read.
 */
public final class LinuxTun implements Tun {
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNGETIFF = 0x800454d2L;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04;
    /** The largest read: a 64 KiB superpacket behind its header. */
    private static final int READ_BUFFER = VirtioNetHeader.LENGTH + 65535;
    /** Packets merged per batched write, and how many 64 KiB superpackets one write may build. */
    private static final int WRITE_BATCH = 128, SUPERPACKETS = 4;
    private static final long SIOCGIFMTU = 0x8921L;
    private static final long SIOCSIFMTU = 0x8922L;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFREQ_SIZE = 40;
    private static final int IFNAMSIZ = 16;
    /** How long a read waits for a packet before it returns 0. */
    private static final int WAIT_MILLIS = 100;

    private static final LibC C = LibC.INSTANCE;

    private final String name;
    private final int fd;
    private final Pointer pollFd = Memory.allocateDirect(LibC.runtime(), 8);
    /** Every read and write carries a virtio-net header. */
    private final boolean vnetHeader;
    /** Reader side (one reading thread): the raw read, before splitting. */
    private final ByteBuffer readBuffer;
    private final ByteBuffer[] single = new ByteBuffer[1];
    /** A superpacket split over several reads: its length, and the next segment to return (0: none pending). */
    private int pendingLength, pendingSegment;
    /** Writer side, used under {@code this}: merging and the single-packet path. */
    private final TcpCoalescer coalescer;
    private final ByteBuffer writeScratch;
    /** The errno of the last failed write (read right after it, under the write lock). */
    private int lastWriteErrno;
    private final TcpCoalescer.Sink rawWrite = new TcpCoalescer.Sink() {
        @Override
        public void write(ByteBuffer packet) throws IOException {
            writeRaw(packet);
        }

        @Override
        public void refused(IOException e) {
            io.wiremesh.wireguard.offload.Fallbacks.record(io.wiremesh.wireguard.offload.Fallbacks.Kind.TUN_COALESCING, lastWriteErrno,
                    name + ": writing every packet on its own from now on (" + e.getMessage() + ")");
        }
    };
    private final LongAdder readDrops = new LongAdder();
    private volatile int mtu;
    private volatile boolean closed;

    private LinuxTun(String name, int fd, boolean vnetHeader) throws IOException {
        this.name = name;
        this.fd = fd;
        this.vnetHeader = vnetHeader;
        this.readBuffer = vnetHeader ? ByteBuffer.allocateDirect(READ_BUFFER) : null;
        this.coalescer = vnetHeader ? new TcpCoalescer(WRITE_BATCH, SUPERPACKETS) : null;
        this.writeScratch = vnetHeader ? ByteBuffer.allocateDirect(READ_BUFFER) : null;
        this.mtu = queryMtu();
    }

    /** Creates (or attaches to) TUN interface {@code name} with offloads and sets its MTU. */
    public static LinuxTun create(String name, int mtu) throws IOException {
        return create(name, mtu, true);
    }

    /**
     * Creates (or attaches to) TUN interface {@code name} and sets its MTU (0: leave it);
     * {@code offload} false: one packet per read and write, no virtio-net header.
     *
     * @throws IOException the name is invalid, /dev/net/tun cannot be opened, or TUNSETIFF fails (errno text)
     */
    public static LinuxTun create(String name, int mtu, boolean offload) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ) throw new IOException("interface name must be 1-15 characters: " + name);
        int fd = C.open("/dev/net/tun", LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0) throw new IOException("open /dev/net/tun: " + C.strerror(LibC.errno()));
        Pointer ifr = ifreq(name);
        ifr.putShort(IFNAMSIZ, (short) (IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0)));
        if (C.ioctl(fd, TUNSETIFF, ifr) < 0) {
            int err = LibC.errno();
            C.close(fd);
            throw new IOException("TUNSETIFF " + name + ": " + C.strerror(err));
        }
        if (offload) {
            // TUNSETOFFLOAD takes the flags as the ioctl argument itself, not a pointer to them.
            if (C.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
                System.err.println("wiremesh-wg: " + name + ": TUN offloads refused (" + C.strerror(LibC.errno())
                        + "); one packet per read");
            }
        }
        int flags = C.fcntl(fd, LibC.F_GETFL, 0);
        C.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK);
        LinuxTun tun = new LinuxTun(name, fd, offload);
        if (mtu > 0) tun.setMtu(mtu);
        return tun;
    }

    /**
     * Adopts a TUN descriptor a predecessor passed over ({@code handover}): the same open interface,
     * opened with or without {@code IFF_VNET_HDR} as {@code offload} says (the flags belong to the open
     * file, so they must match what the predecessor asked for).
     *
     * @throws IOException the descriptor is not a TUN device's queue named {@code name}
     */
    public static LinuxTun adopt(String name, int fd, boolean offload) throws IOException {
        Pointer ifr = Memory.allocateDirect(LibC.runtime(), IFREQ_SIZE, true);
        if (C.ioctl(fd, TUNGETIFF, ifr) < 0) throw new IOException("TUNGETIFF on the inherited descriptor: " + C.strerror(LibC.errno()));
        byte[] got = new byte[IFNAMSIZ];
        ifr.get(0, got, 0, IFNAMSIZ);
        String actual = new String(got, StandardCharsets.US_ASCII).replace("\0", "");
        boolean vnet = (ifr.getShort(IFNAMSIZ) & IFF_VNET_HDR) != 0;
        if (!actual.equals(name) || vnet != offload) {
            throw new IOException("the inherited descriptor is TUN " + actual + (vnet ? " with" : " without") + " virtio-net headers, not " + name);
        }
        int flags = C.fcntl(fd, LibC.F_GETFL, 0);
        C.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK);
        return new LinuxTun(name, fd, offload);
    }

    @Override
    public boolean pending() {
        return pendingSegment != 0;
    }

    /** The queue's file descriptor, to pass to a successor. */
    public int fd() {
        return fd;
    }

    /**
     * Closes this process's descriptor only: a successor that holds its own (passed over) keeps the
     * interface; stops this reader as {@link #close} does.
     */
    @Override
    public void release() {
        close();
    }

    /** Whether reads and writes carry a virtio-net header (offloads asked for). */
    public boolean offloads() {
        return vnetHeader;
    }

    /** Reads dropped because what the kernel handed over could not be split (an inconsistent header or packet). */
    public long readDrops() {
        return readDrops.sum();
    }

    private static Pointer ifreq(String name) {
        Pointer ifr = Memory.allocateDirect(LibC.runtime(), IFREQ_SIZE, true);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        ifr.put(0, n, 0, n.length);
        return ifr;
    }

    private int queryMtu() throws IOException {
        int s = C.socket(LibC.AF_INET, LibC.SOCK_DGRAM, 0);
        if (s < 0) throw new IOException("socket: " + C.strerror(LibC.errno()));
        try {
            Pointer ifr = ifreq(name);
            if (C.ioctl(s, SIOCGIFMTU, ifr) < 0) throw new IOException("SIOCGIFMTU: " + C.strerror(LibC.errno()));
            return ifr.getInt(IFNAMSIZ);
        } finally {
            C.close(s);
        }
    }

    public void setMtu(int value) throws IOException {
        int s = C.socket(LibC.AF_INET, LibC.SOCK_DGRAM, 0);
        if (s < 0) throw new IOException("socket: " + C.strerror(LibC.errno()));
        try {
            Pointer ifr = ifreq(name);
            ifr.putInt(IFNAMSIZ, value);
            if (C.ioctl(s, SIOCSIFMTU, ifr) < 0) throw new IOException("SIOCSIFMTU: " + C.strerror(LibC.errno()));
            mtu = value;
        } finally {
            C.close(s);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public void refresh() {
        try {
            if (!closed) mtu = queryMtu();
        } catch (IOException ignored) {
            // keep the last known MTU
        }
    }

    /** One packet; with offloads a superpacket comes one segment per call. */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!vnetHeader) return readRaw(dst);
        single[0] = dst;
        int start = dst.position(), limit = dst.limit();
        int n = read(single, 1);
        if (n <= 0) return n;
        int len = dst.limit() - start;
        dst.limit(limit).position(start + len);
        return len;
    }

    /**
     * Batched read: one read(2), split into up to {@code count} packets when the kernel handed a
     * superpacket; what does not fit is returned by the next calls before anything new is read.
     */
    @Override
    public int read(ByteBuffer[] packets, int count) throws IOException {
        if (!vnetHeader) return Tun.super.read(packets, count);
        ByteBuffer r = readBuffer;
        while (true) {
            if (pendingSegment == 0) {
                r.clear();
                pendingLength = readRaw(r);
                if (pendingLength <= 0) return pendingLength;
            }
            int n = TcpSegmentation.split(r, 0, pendingLength, packets, count, pendingSegment);
            if (n < 0) {
                pendingSegment = 0;
                readDrops.increment();
                continue;
            }
            pendingSegment += n;
            if (pendingSegment >= TcpSegmentation.segments(r, 0, pendingLength)) pendingSegment = 0;
            return n;
        }
    }

    private int readRaw(ByteBuffer dst) throws IOException {
        while (!closed) {
            long n = C.read(fd, dst, dst.remaining());
            if (n >= 0) {
                dst.position(dst.position() + (int) n);
                return (int) n;
            }
            int err = LibC.errno();
            if (err == LibC.EAGAIN) {
                pollFd.putInt(0, fd);
                pollFd.putShort(4, LibC.POLLIN);
                pollFd.putShort(6, (short) 0);
                // Nothing within the wait: return, so the reader can look at its gate (a handover) and call again.
                if (C.poll(pollFd, 1, WAIT_MILLIS) == 0) return 0;
            } else if (err != LibC.EINTR) {
                if (closed) break;
                throw new IOException("read " + name + ": " + C.strerror(err));
            }
        }
        return -1;
    }

    /** One packet; with offloads it is copied behind an all-zero virtio-net header. */
    @Override
    public void write(ByteBuffer src) throws IOException {
        if (!vnetHeader) {
            writeRaw(src);
            return;
        }
        synchronized (this) {
            ByteBuffer w = writeScratch.clear();
            VirtioNetHeader.writeNone(w, 0);
            int len = src.remaining();
            w.put(VirtioNetHeader.LENGTH, src, src.position(), len);
            w.limit(VirtioNetHeader.LENGTH + len);
            writeRaw(w);
            src.position(src.limit());
        }
    }

    /** Batched write, merging TCP segments of a flow into superpackets where the header allows. */
    @Override
    public void write(ByteBuffer[] packets, int count) throws IOException {
        if (!vnetHeader) {
            Tun.super.write(packets, count);
            return;
        }
        synchronized (this) {
            IOException first = null;
            for (int i = 0; i < count; i += WRITE_BATCH) {
                try {
                    coalescer.write(packets, i, Math.min(WRITE_BATCH, count - i), rawWrite);
                } catch (IOException e) {
                    if (first == null) first = e;
                }
            }
            if (first != null) throw first;
        }
    }

    private void writeRaw(ByteBuffer src) throws IOException {
        long n = C.write(fd, src, src.remaining());
        if (n < 0) {
            lastWriteErrno = LibC.errno();
            throw new IOException("write " + name + ": " + C.strerror(lastWriteErrno));
        }
        src.position(src.position() + (int) n);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        C.close(fd);
    }
}
