package io.wiremesh.wireguard.linux;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A unix-socket server with owner-only permissions that refuses to take over a socket another
 * live process still serves (a stale file is replaced) and removes its file on close. Used by the
 * UAPI and by the node-daemon's CNI socket.
 */
public final class UnixSocketServer implements AutoCloseable {
    /** Serves one connection; the server closes it afterwards. */
    public interface Handler {
        void serve(SocketChannel connection) throws IOException;
    }

    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private volatile boolean closed;

    private UnixSocketServer(Path path, ServerSocketChannel server, String name, boolean concurrent, Handler handler) {
        this.path = path;
        this.server = server;
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
        return new UnixSocketServer(path, s, name, concurrent, handler);
    }

    public Path path() {
        return path;
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
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the directory may be gone already
        }
    }
}
