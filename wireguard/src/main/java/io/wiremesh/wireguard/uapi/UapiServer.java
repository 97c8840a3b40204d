package io.wiremesh.wireguard.uapi;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Serves the UAPI on {@code /var/run/wireguard/IFNAME.sock} (mode 0700, as wireguard-go), one
 * request after another per connection: {@code get=1} and {@code set=1}; an unknown operation
 * closes the connection without a reply.
 */
public final class UapiServer implements AutoCloseable {
    public static final Path DEFAULT_DIR = Path.of("/var/run/wireguard");

    private final Uapi uapi;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private volatile boolean closed;

    private UapiServer(Uapi uapi, Path path, ServerSocketChannel server) {
        this.uapi = uapi;
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().daemon().name("wg-uapi").start(this::acceptLoop);
    }

    public static UapiServer start(Uapi uapi, Path dir, String ifname) throws IOException {
        Files.createDirectories(dir);
        Path path = dir.resolve(ifname + ".sock");
        if (Files.exists(path)) {
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                throw new IOException("UAPI socket " + path + " is in use: is another process running " + ifname + "?");
            } catch (IOException stale) {
                if (stale.getMessage() != null && stale.getMessage().contains("is in use")) throw stale;
                Files.deleteIfExists(path);
            }
        }
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
        return new UapiServer(uapi, path, s);
    }

    public Path path() {
        return path;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel c = server.accept();
                Thread.ofVirtual().name("wg-uapi-conn").start(() -> serve(c));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c;
             BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
             OutputStream out = Channels.newOutputStream(c)) {
            String op;
            while ((op = in.readLine()) != null) {
                switch (op) {
                    case "get=1" -> {
                        String next = in.readLine();
                        if (next == null || !next.isEmpty()) {
                            reply(out, "", UapiException.EINVAL);
                            return;
                        }
                        reply(out, uapi.get(), 0);
                    }
                    case "set=1" -> {
                        List<String> lines = new ArrayList<>();
                        String l;
                        while ((l = in.readLine()) != null && !l.isEmpty()) lines.add(l);
                        try {
                            uapi.set(lines);
                            reply(out, "", 0);
                        } catch (UapiException e) {
                            System.err.println("UAPI set failed: " + e.getMessage());
                            reply(out, "", e.errno);
                            return;
                        }
                    }
                    default -> {
                        return; // unknown operation: close without reply, like wireguard-go
                    }
                }
            }
        } catch (IOException e) {
            // client went away
        }
    }

    private static void reply(OutputStream out, String body, int errno) throws IOException {
        out.write((body + "errno=" + errno + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing to flush
        }
        acceptor.interrupt();
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the directory may be gone already
        }
    }
}
