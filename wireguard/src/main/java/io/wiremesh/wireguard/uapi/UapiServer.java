package io.wiremesh.wireguard.uapi;

import io.wiremesh.wireguard.linux.UnixSocketServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
    private final UnixSocketServer server;

    private UapiServer(Uapi uapi, Path path) throws IOException {
        this.uapi = uapi;
        this.server = UnixSocketServer.start(path, "rwx------", "wg-uapi", true, this::serve);
    }

    public static UapiServer start(Uapi uapi, Path dir, String ifname) throws IOException {
        Path path = dir.resolve(ifname + ".sock");
        try {
            return new UapiServer(uapi, path);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("in use")) {
                throw new IOException("UAPI socket " + path + " is in use: is another process running " + ifname + "?");
            }
            throw e;
        }
    }

    public Path path() {
        return server.path();
    }

    private void serve(SocketChannel c) throws IOException {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
             OutputStream out = Channels.newOutputStream(c)) {
            String op;
            while ((op = in.readLine()) != null) {
                switch (op) {
                    case UapiKeys.GET -> {
                        String next = in.readLine();
                        if (next == null || !next.isEmpty()) {
                            reply(out, "", UapiException.EINVAL);
                            return;
                        }
                        reply(out, uapi.get(), 0);
                    }
                    case UapiKeys.SET -> {
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
        }
    }

    private static void reply(OutputStream out, String body, int errno) throws IOException {
        out.write((body + UapiKeys.ERRNO + "=" + errno + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() {
        server.close();
    }
}
