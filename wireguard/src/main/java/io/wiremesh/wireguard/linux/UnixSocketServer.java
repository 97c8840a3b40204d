package io.wiremesh.wireguard.linux;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A unix-socket server with owner-only permissions that refuses to take over a socket another
 * live process still serves (a stale file is replaced) and removes its file on close, unless the
 * path has since been given to another socket. Used by the UAPI and by the node-daemon's CNI socket.
 */
public final class UnixSocketServer implements AutoCloseable {
    /** Serves one connection; the server closes it afterwards. */
    public interface Handler {
        void serve(SocketChannel connection) throws IOException;
    }

    private final Path path;
    private final ServerSocketChannel server;
    private final Object fileKey; // the bound socket file's device and inode
    private final Thread acceptor;
    private volatile boolean closed;

    private UnixSocketServer(Path path, ServerSocketChannel server, Object fileKey, String name, boolean concurrent, Handler handler) {
        this.path = path;
        this.server = server;
        this.fileKey = fileKey;
        this.acceptor = Thread.ofPlatform().daemon().name(name).start(() -> {
            while (!closed) {
                SocketChannel c;
                try {
                    c = server.accept();
                } catch (IOException e) {
                    if (closed) return;
                    continue;
                }
                Runnable serve = () -> {
                    try (c) {
                        handler.serve(c);
                    } catch (IOException | RuntimeException e) {
                        // the client went away or sent garbage; the server keeps serving others
                    }
                };
                if (concurrent) Thread.ofVirtual().name(name + "-conn").start(serve);
                else serve.run();
            }
        });
    }

    /**
     * Binds {@code path} (mode {@code permissions}, e.g. "rw-------") and serves each connection with
     * {@code handler}: one at a time, or each on its own virtual thread when {@code concurrent}.
     */
    public static UnixSocketServer start(Path path, String permissions, String name, boolean concurrent, Handler handler) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        if (Files.exists(path)) {
            boolean live;
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                live = true;
            } catch (IOException stale) {
                live = false;
            }
            if (live) throw new IOException(path + " is in use by another process");
            Files.deleteIfExists(path);
        }
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
        return new UnixSocketServer(path, s, fileKey(path), name, concurrent, handler);
    }

    public Path path() {
        return path;
    }

    /**
     * Whether clients still reach this server at {@link #path()}: false once the file was removed or
     * replaced (the socket keeps listening, but nothing can connect to it by name any more).
     */
    public boolean reachable() {
        try {
            Object now = fileKey(path);
            // A file system without file keys: only a removal can be seen.
            return !closed && (fileKey == null || fileKey.equals(now));
        } catch (IOException gone) {
            return false;
        }
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing buffered
        }
        acceptor.interrupt();
        try {
            // Only our own file: the path may serve a newer socket by now.
            if (fileKey != null && fileKey.equals(fileKey(path))) Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the file or its directory is gone already
        }
    }
}
