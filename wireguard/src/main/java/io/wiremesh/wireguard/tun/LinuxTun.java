package io.wiremesh.wireguard.tun;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A Linux TUN device (IFF_TUN | IFF_NO_PI) opened through /dev/net/tun with jnr-ffi. The fd is
 * non-blocking; a reader waits in poll(2) only when the queue is empty, so a busy device costs one
 * read(2) per packet.
 */
public final class LinuxTun implements Tun {
    private static final long TUNSETIFF = 0x400454caL;
    private static final long SIOCGIFMTU = 0x8921L;
    private static final long SIOCSIFMTU = 0x8922L;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFREQ_SIZE = 40;
    private static final int IFNAMSIZ = 16;

    private static final LibC C = LibC.INSTANCE;

    private final String name;
    private final int fd;
    private final Pointer pollFd = Memory.allocateDirect(LibC.runtime(), 8);
    private volatile int mtu;
    private volatile boolean closed;

    private LinuxTun(String name, int fd) throws IOException {
        this.name = name;
        this.fd = fd;
        this.mtu = queryMtu();
    }

    /** Creates (or attaches to) TUN interface {@code name} and sets its MTU. */
    public static LinuxTun create(String name, int mtu) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ) throw new IOException("interface name must be 1-15 characters: " + name);
        int fd = C.open("/dev/net/tun", LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0) throw new IOException("open /dev/net/tun: " + C.strerror(LibC.errno()));
        Pointer ifr = ifreq(name);
        ifr.putShort(IFNAMSIZ, (short) (IFF_TUN | IFF_NO_PI));
        if (C.ioctl(fd, TUNSETIFF, ifr) < 0) {
            int err = LibC.errno();
            C.close(fd);
            throw new IOException("TUNSETIFF " + name + ": " + C.strerror(err));
        }
        int flags = C.fcntl(fd, LibC.F_GETFL, 0);
        C.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK);
        LinuxTun tun = new LinuxTun(name, fd);
        if (mtu > 0) tun.setMtu(mtu);
        return tun;
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

    @Override
    public int read(ByteBuffer dst) throws IOException {
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
                C.poll(pollFd, 1, 500);
            } else if (err != LibC.EINTR) {
                if (closed) break;
                throw new IOException("read " + name + ": " + C.strerror(err));
            }
        }
        return -1;
    }

    @Override
    public void write(ByteBuffer src) throws IOException {
        long n = C.write(fd, src, src.remaining());
        if (n < 0) throw new IOException("write " + name + ": " + C.strerror(LibC.errno()));
        src.position(src.position() + (int) n);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        C.close(fd);
    }
}
