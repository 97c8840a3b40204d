package io.wiremesh.wireguard.handover;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * One end of a handover connection: an AF_UNIX stream socket carrying length-prefixed frames, the
 * first bytes of a frame optionally accompanied by file descriptors (SCM_RIGHTS, unix(7)). Java's own
 * unix channels cannot pass descriptors, so this one is native (jnr-ffi, the datapath's FFI).
 *
 * <p>A frame is a 4-byte big-endian length and that many bytes (at most {@link #MAX_FRAME}). Every
 * receive waits at most the timeout given at connect/accept, then fails: a peer that stops answering
 * never holds the other side.
 */
public final class HandoverChannel implements AutoCloseable {
    /** The largest frame either side accepts, in bytes (the state of thousands of peers fits easily). */
    public static final int MAX_FRAME = 64 << 20;
    /** The most descriptors one frame carries. */
    public static final int MAX_FDS = 8;

    private static final LibC C = LibC.INSTANCE;
    // x86_64/aarch64: struct msghdr is 56 bytes, struct iovec 16, struct cmsghdr 16 (len, level, type) before the data.
    private static final int MSG_IOV = 16, MSG_IOVLEN = 24, MSG_CONTROL = 32, MSG_CONTROLLEN = 40, MSGHDR = 56, IOVEC = 16, CMSGHDR = 16;
    private static final int SOCKADDR_UN = 110, SUN_PATH = 108, MSG_CTRUNC = 8;

    private final int fd;
    private volatile boolean closed;

    private HandoverChannel(int fd) {
        this.fd = fd;
    }

    /** A frame as received: its bytes and the descriptors that came with it (now this process's; the caller owns them). */
    public record Frame(byte[] payload, int[] fds) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    /**
     * Connects to the listening socket at {@code path}.
     *
     * @throws IOException nothing listens there (ECONNREFUSED, ENOENT), or the path is too long
     */
    public static HandoverChannel connect(Path path, int timeoutMillis) throws IOException {
        int s = socket();
        Pointer sa = address(path);
        if (C.connect(s, sa, SOCKADDR_UN) < 0) {
            int err = LibC.errno();
            C.close(s);
            throw new IOException("connect " + path + ": " + C.strerror(err));
        }
        return withTimeout(s, timeoutMillis);
    }

    /** A listening socket at {@code path} (replacing a stale file), owner-only, for {@link #accept}. */
    public static final class Listener implements AutoCloseable {
        private final int fd;
        private final Path path;
        private final Object fileKey;
        private volatile boolean closed;

        private Listener(int fd, Path path, Object fileKey) {
            this.fd = fd;
            this.path = path;
            this.fileKey = fileKey;
        }

        public Path path() {
            return path;
        }

        /**
         * Waits for the next connection; null once the listener is closed.
         *
         * @param timeoutMillis how long each receive on the accepted connection may wait
         */
        public HandoverChannel accept(int timeoutMillis) throws IOException {
            while (!closed) {
                int c = C.accept4(fd, null, null, LibC.SOCK_CLOEXEC);
                if (c >= 0) return withTimeout(c, timeoutMillis);
                int err = LibC.errno();
                if (closed) return null;
                if (err != LibC.EINTR && err != LibC.EAGAIN) throw new IOException("accept " + path + ": " + C.strerror(err));
            }
            return null;
        }

        /** Stops listening (a blocked accept returns null) and removes the file, unless it now belongs to another socket. */
        @Override
        public void close() {
            if (closed) return;
            closed = true;
            C.shutdown(fd, 2);
            C.close(fd);
            try {
                if (fileKey != null && fileKey.equals(fileKey(path))) Files.deleteIfExists(path);
            } catch (IOException gone) {
                // removed already
            }
        }
    }

    /**
     * Listens at {@code path}; a file left there by a process that is gone is replaced.
     *
     * @throws IOException another process still listens there, or the socket cannot be made
     */
    public static Listener listen(Path path) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        if (Files.exists(path)) {
            if (live(path)) throw new IOException(path + " is in use by another process");
            Files.deleteIfExists(path);
        }
        int s = socket();
        try {
            if (C.bind(s, address(path), SOCKADDR_UN) < 0) throw new IOException("bind " + path + ": " + C.strerror(LibC.errno()));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            if (C.listen(s, 4) < 0) throw new IOException("listen " + path + ": " + C.strerror(LibC.errno()));
            return new Listener(s, path, fileKey(path));
        } catch (IOException | RuntimeException e) {
            C.close(s);
            throw e;
        }
    }

    /** Whether a process listens at {@code path} (a connection is accepted by the kernel), as opposed to a stale file. */
    public static boolean live(Path path) {
        if (!Files.exists(path)) return false;
        try (HandoverChannel probe = connect(path, 1000)) {
            return true;
        } catch (IOException gone) {
            return false;
        }
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    private static int socket() throws IOException {
        int s = C.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (s < 0) throw new IOException("socket(AF_UNIX): " + C.strerror(LibC.errno()));
        return s;
    }

    private static Pointer address(Path path) throws IOException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH) throw new IOException("socket path too long: " + path);
        Pointer sa = Memory.allocateDirect(LibC.runtime(), SOCKADDR_UN, true);
        sa.putShort(0, (short) LibC.AF_UNIX);
        sa.put(2, p, 0, p.length);
        return sa;
    }

    private static HandoverChannel withTimeout(int s, int timeoutMillis) {
        Pointer tv = Memory.allocateDirect(LibC.runtime(), 16, true);
        tv.putLong(0, timeoutMillis / 1000);
        tv.putLong(8, (timeoutMillis % 1000) * 1000L);
        C.setsockopt(s, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, tv, 16);
        C.setsockopt(s, LibC.SOL_SOCKET, LibC.SO_SNDTIMEO, tv, 16);
        return new HandoverChannel(s);
    }

    /** Sends a text frame. */
    public void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Sends one frame; {@code fds} (at most {@link #MAX_FDS}) travel with its first bytes, and the
     * receiver gets its own descriptors for the same open files.
     */
    public void send(byte[] payload, int... fds) throws IOException {
        if (fds.length > MAX_FDS) throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per frame");
        ByteBuffer frame = ByteBuffer.allocateDirect(4 + payload.length);
        frame.putInt(payload.length).put(payload).flip();
        if (fds.length > 0) {
            // The length prefix goes alone with the descriptors, so they arrive with a read the receiver expects.
            Pointer msg = Memory.allocateDirect(LibC.runtime(), MSGHDR + IOVEC + CMSGHDR + 4 * MAX_FDS, true);
            long base = msg.address();
            Pointer iov = msg.slice(MSGHDR);
            Pointer cmsg = msg.slice(MSGHDR + IOVEC);
            iov.putAddress(0, com.kenai.jffi.MemoryIO.getInstance().getDirectBufferAddress(frame));
            iov.putLong(8, 4);
            msg.putAddress(MSG_IOV, base + MSGHDR);
            msg.putLong(MSG_IOVLEN, 1);
            msg.putAddress(MSG_CONTROL, base + MSGHDR + IOVEC);
            int len = CMSGHDR + 4 * fds.length;
            msg.putLong(MSG_CONTROLLEN, (len + 7) & ~7);
            cmsg.putLong(0, len);
            cmsg.putInt(8, LibC.SOL_SOCKET);
            cmsg.putInt(12, LibC.SCM_RIGHTS);
            for (int i = 0; i < fds.length; i++) cmsg.putInt(CMSGHDR + 4 * i, fds[i]);
            long n;
            do {
                n = C.sendmsg(fd, msg, 0);
            } while (n < 0 && LibC.errno() == LibC.EINTR);
            if (n < 0) throw new IOException("sendmsg: " + C.strerror(LibC.errno()));
            frame.position((int) n);
        }
        while (frame.hasRemaining()) {
            long n = C.write(fd, frame.slice(), frame.remaining());
            if (n < 0) {
                int err = LibC.errno();
                if (err == LibC.EINTR) continue;
                throw new IOException(err == LibC.EAGAIN ? "the other side stopped reading" : "write: " + C.strerror(err));
            }
            frame.position(frame.position() + (int) n);
        }
    }

    /**
     * Receives the next frame and the descriptors that came with it.
     *
     * @throws IOException the other side closed (EOF), the timeout passed, or the frame is malformed
     */
    public Frame receive() throws IOException {
        Pointer msg = Memory.allocateDirect(LibC.runtime(), MSGHDR + IOVEC + CMSGHDR + 4 * MAX_FDS + 4, true);
        long base = msg.address();
        Pointer iov = msg.slice(MSGHDR);
        Pointer lenBuf = msg.slice(MSGHDR + IOVEC + CMSGHDR + 4 * MAX_FDS);
        iov.putAddress(0, base + MSGHDR + IOVEC + CMSGHDR + 4 * MAX_FDS);
        iov.putLong(8, 4);
        msg.putAddress(MSG_IOV, base + MSGHDR);
        msg.putLong(MSG_IOVLEN, 1);
        msg.putAddress(MSG_CONTROL, base + MSGHDR + IOVEC);
        msg.putLong(MSG_CONTROLLEN, CMSGHDR + 4 * MAX_FDS);
        long n;
        do {
            n = C.recvmsg(fd, msg, LibC.MSG_CMSG_CLOEXEC);
        } while (n < 0 && LibC.errno() == LibC.EINTR);
        if (n < 0) throw new IOException(LibC.errno() == LibC.EAGAIN ? "no answer within the timeout" : "recvmsg: " + C.strerror(LibC.errno()));
        if (n == 0) throw new IOException("the other side closed the connection");
        int[] fds = new int[0];
        long controlLength = msg.getLong(MSG_CONTROLLEN);
        if (controlLength >= CMSGHDR) {
            Pointer cmsg = msg.slice(MSGHDR + IOVEC);
            long len = cmsg.getLong(0);
            if (cmsg.getInt(8) == LibC.SOL_SOCKET && cmsg.getInt(12) == LibC.SCM_RIGHTS && len > CMSGHDR) {
                fds = new int[(int) ((len - CMSGHDR) / 4)];
                for (int i = 0; i < fds.length; i++) fds[i] = cmsg.getInt(CMSGHDR + 4 * i);
            }
        }
        if ((msg.getInt(48) & MSG_CTRUNC) != 0) {
            for (int f : fds) C.close(f);
            throw new IOException("more descriptors than a frame may carry");
        }
        try {
            byte[] head = new byte[4];
            lenBuf.get(0, head, 0, (int) n);
            readFully(head, (int) n, 4);
            int length = ByteBuffer.wrap(head).getInt();
            if (length < 0 || length > MAX_FRAME) throw new IOException("frame of " + length + " bytes refused");
            byte[] payload = new byte[length];
            readFully(payload, 0, length);
            return new Frame(payload, fds);
        } catch (IOException | RuntimeException e) {
            for (int f : fds) C.close(f); // a frame cut short: its descriptors must not keep the interface alive here
            throw e;
        }
    }

    private void readFully(byte[] into, int from, int to) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(1, to - from));
        while (from < to) {
            b.clear().limit(to - from);
            long n = C.read(fd, b, to - from);
            if (n < 0) {
                int err = LibC.errno();
                if (err == LibC.EINTR) continue;
                throw new IOException(err == LibC.EAGAIN ? "no answer within the timeout" : "read: " + C.strerror(err));
            }
            if (n == 0) throw new IOException("the other side closed the connection mid-frame");
            b.position(0).limit((int) n);
            b.get(into, from, (int) n);
            from += (int) n;
        }
    }

    /** Receives a text frame; descriptors that came with it are closed (a text frame never carries any). */
    public String receiveText() throws IOException {
        Frame f = receive();
        for (int d : f.fds()) C.close(d);
        return f.text();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        C.close(fd);
    }
}
