package io.wiremesh.clusterdns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766) on one address: each message has a 2-byte length prefix, a connection
 * carries any number of queries (answered in order), and is closed after {@value #IDLE_MILLIS} ms without one.
 * One virtual thread per connection, at most {@value #MAX_CONNECTIONS} connections; more are closed at once.
 */
public final class TcpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TcpServer.class);
    /** How long an idle connection stays open, in milliseconds. */
    public static final int IDLE_MILLIS = 10_000;
    /** Connections served at once, at most. */
    public static final int MAX_CONNECTIONS = 256;

    private final ServerSocket socket;
    private final Exchange exchange;
    private final ExecutorService connections = Executors.newVirtualThreadPerTaskExecutor();
    private final Semaphore open = new Semaphore(MAX_CONNECTIONS);
    private final Thread acceptor;

    /**
     * Binds the socket (the thread starts with {@link #start()}).
     *
     * @param bind the address and port (port 0: any free port)
     * @param exchange what answers each request
     * @throws IOException when the address cannot be bound
     */
    public TcpServer(InetSocketAddress bind, Exchange exchange) throws IOException {
        this.socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(bind, 128);
        this.exchange = exchange;
        this.acceptor = Thread.ofPlatform().name("dns-tcp").daemon().unstarted(this::accept);
    }

    /** The bound address (with the actual port when bound to port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Starts accepting connections; returns this server. */
    public TcpServer start() {
        acceptor.start();
        return this;
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                if (!open.tryAcquire()) {
                    s.close();
                    continue;
                }
                connections.execute(() -> {
                    try (s) {
                        serve(s);
                    } catch (EOFException | SocketTimeoutException e) {
                        // the client is done, or idle
                    } catch (IOException e) {
                        if (!socket.isClosed() && !(e instanceof SocketException)) LOG.warn("TCP connection from {} failed: {}", s.getRemoteSocketAddress(), e.toString());
                    } finally {
                        open.release();
                    }
                });
            } catch (IOException e) {
                if (!socket.isClosed()) LOG.warn("accepting a TCP connection failed: {}", e.toString());
            }
        }
    }

    private void serve(Socket s) throws IOException {
        s.setSoTimeout(IDLE_MILLIS);
        DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
        while (true) {
            byte[] request = new byte[in.readUnsignedShort()];
            in.readFully(request);
            byte[] reply = exchange.handle(request, Exchange.Transport.TCP);
            if (reply == null) return;
            out.writeShort(reply.length);
            out.write(reply);
            out.flush();
        }
    }

    /** Closes the listening socket and every connection. */
    @Override
    public void close() throws IOException {
        socket.close();
        connections.shutdownNow();
    }
}
