package io.wiremesh.clusterdns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS over UDP (RFC 1035 §4.2.1) on one address: one thread receives, each request is answered on a virtual
 * thread of its own (a forwarded one waits for its upstream), at most {@value #IN_FLIGHT} at a time; requests
 * beyond that are dropped (the client asks again).
 */
public final class UdpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UdpServer.class);
    /** Requests answered at once, at most. */
    public static final int IN_FLIGHT = 1024;

    private final DatagramChannel channel;
    private final Exchange exchange;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final Semaphore inFlight = new Semaphore(IN_FLIGHT);
    private final Thread receiver;

    /**
     * Binds the socket (the thread starts with {@link #start()}).
     *
     * @param bind the address and port (port 0: any free port)
     * @param exchange what answers each request
     * @throws IOException when the address cannot be bound (e.g. port 53 without the privilege)
     */
    public UdpServer(InetSocketAddress bind, Exchange exchange) throws IOException {
        this.channel = DatagramChannel.open(bind.getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        channel.bind(bind);
        this.exchange = exchange;
        this.receiver = Thread.ofPlatform().name("dns-udp").daemon().unstarted(this::receive);
    }

    /** The bound address (with the actual port when bound to port 0). */
    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    /** Starts receiving; returns this server. */
    public UdpServer start() {
        receiver.start();
        return this;
    }

    private void receive() {
        ByteBuffer buf = ByteBuffer.allocate(65535);
        while (channel.isOpen()) {
            try {
                buf.clear();
                SocketAddress from = channel.receive(buf);
                byte[] request = Arrays.copyOf(buf.array(), buf.position());
                if (!inFlight.tryAcquire()) continue;
                workers.execute(() -> {
                    try {
                        byte[] reply = exchange.handle(request, Exchange.Transport.UDP);
                        if (reply != null) channel.send(ByteBuffer.wrap(reply), from);
                    } catch (ClosedChannelException e) {
                        // closing
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("answering {} over UDP failed: {}", from, e.toString());
                    } finally {
                        inFlight.release();
                    }
                });
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("receiving over UDP failed: {}", e.toString());
            }
        }
    }

    /** Closes the socket; requests being answered are abandoned. */
    @Override
    public void close() throws IOException {
        channel.close();
        workers.shutdownNow();
    }
}
