package io.wiremesh.wireguard.net;

import io.wiremesh.wireguard.linux.LibC;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;

/**
 * Dual-stack UDP socket through NIO. Receives into direct buffers; the JDK reuses the source
 * address object while the sender does not change, so steady-state receive does not allocate.
 */
public final class UdpBind implements Bind {
    private final DatagramChannel channel;
    private final int port;

    private UdpBind(DatagramChannel channel) throws IOException {
        this.channel = channel;
        this.port = ((InetSocketAddress) channel.getLocalAddress()).getPort();
    }

    public static UdpBind open(int port) throws IOException {
        DatagramChannel ch;
        try {
            ch = DatagramChannel.open(StandardProtocolFamily.INET6);
        } catch (UnsupportedOperationException | IOException noIpv6) {
            // The JDK reports IPv6 unavailable in namespaces without any IPv6 address: IPv4 only.
            ch = DatagramChannel.open(StandardProtocolFamily.INET);
        }
        try {
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
            ch.bind(new InetSocketAddress(port));
            return new UdpBind(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public InetSocketAddress receive(ByteBuffer dst) throws IOException {
        try {
            return (InetSocketAddress) channel.receive(dst);
        } catch (ClosedChannelException e) {
            return null;
        }
    }

    @Override
    public void send(ByteBuffer src, InetSocketAddress to) throws IOException {
        channel.send(src, to);
    }

    @Override
    public int port() {
        return port;
    }

    /**
     * SO_MARK through setsockopt(2): NIO has no such option, so the channel's fd is read through
     * the JDK-internal getFDVal() (the launcher opens java.base/sun.nio.ch for this).
     */
    @Override
    public void setMark(int mark) throws IOException {
        int fd;
        try {
            java.lang.reflect.Method m = channel.getClass().getDeclaredMethod("getFDVal");
            m.setAccessible(true);
            fd = (int) m.invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("cannot set fwmark: run with --add-opens java.base/sun.nio.ch=ALL-UNNAMED", e);
        }
        jnr.ffi.Pointer v = jnr.ffi.Memory.allocateDirect(LibC.runtime(), 4);
        v.putInt(0, mark);
        if (LibC.INSTANCE.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_MARK, v, 4) < 0) {
            throw new IOException("setsockopt(SO_MARK): " + LibC.INSTANCE.strerror(LibC.errno()));
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a datagram channel cannot lose data
        }
    }
}
