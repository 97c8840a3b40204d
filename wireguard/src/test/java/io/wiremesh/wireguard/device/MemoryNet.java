package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.net.Bind;
import io.wiremesh.wireguard.routing.Prefix;
import io.wiremesh.wireguard.timers.FakeClock;
import io.wiremesh.wireguard.tun.Tun;
import java.net.InetAddress;
import io.wiremesh.wireguard.net.Endpoint;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A deterministic network for device tests: devices run with no threads, datagrams wait in a
 * queue until {@link #pump()}, and a filter can drop, capture or re-route them. One fake clock.
 */
final class MemoryNet {
    record Datagram(InetSocketAddress from, InetSocketAddress to, byte[] data) {
        int type() {
            return data[0];
        }
    }

    final FakeClock clock = new FakeClock();
    final ArrayDeque<Datagram> inFlight = new ArrayDeque<>();
    final List<Datagram> sent = new ArrayList<>();
    final List<Node> nodes = new ArrayList<>();
    /** Return false to drop a datagram. */
    Predicate<Datagram> filter = d -> true;

    final class Node {
        final Device device;
        final byte[] privateKey = io.wiremesh.wireguard.crypto.X25519.generatePrivateKey();
        final byte[] publicKey = io.wiremesh.wireguard.crypto.X25519.publicKey(privateKey);
        final List<byte[]> tunOut = new ArrayList<>();
        InetSocketAddress address;

        Node(String ip, int port) throws Exception {
            this.address = new InetSocketAddress(InetAddress.getByName(ip), port);
            Tun tun = new Tun() {
                public String name() {
                    return "mem";
                }

                public int mtu() {
                    return 1420;
                }

                public int read(ByteBuffer dst) {
                    return -1;
                }

                public void write(ByteBuffer src) {
                    byte[] b = new byte[src.remaining()];
                    src.get(b);
                    tunOut.add(b);
                }

                public void close() {}
            };
            device = new Device(tun, p -> new Bind() {
                public Endpoint receive(ByteBuffer dst) {
                    return null;
                }

                public boolean send(ByteBuffer src, Endpoint to) {
                    byte[] b = new byte[src.remaining()];
                    src.get(b);
                    Datagram d = new Datagram(address, to.address(), b);
                    sent.add(d);
                    inFlight.add(d);
                    return true;
                }

                public int port() {
                    return address.getPort();
                }

                public void close() {}
            }, clock, new Device.Options(0, 64, false));
            device.setPrivateKey(privateKey);
            device.start();
        }

        Peer connect(Node other, String... allowedIps) {
            Peer p = device.addPeer(other.publicKey);
            p.setEndpoint(other.address);
            for (String a : allowedIps) device.addAllowedIp(p, Prefix.parse(a));
            return p;
        }

        /** Injects a plaintext IP packet as if read from the TUN. */
        void fromTun(byte[] packet) throws InterruptedException {
            Element e = device.datapath().send.pool().poll();
            e.buf.put(Element.HEADER, packet);
            e.length = packet.length;
            device.datapath().send.route(e);
        }

        /** Delivers a datagram to this device's UDP side. */
        void fromUdp(byte[] data, InetSocketAddress from) {
            Element e = device.datapath().receive.pool().poll();
            e.buf.put(0, data);
            e.length = data.length;
            device.datapath().receive.handle(e, Endpoint.of(from));
        }
    }

    Node node(String ip, int port) throws Exception {
        Node n = new Node(ip, port);
        nodes.add(n);
        return n;
    }

    /** Delivers queued datagrams (and those they cause) until the network is quiet. */
    int pump() {
        int delivered = 0;
        while (!inFlight.isEmpty()) {
            Datagram d = inFlight.poll();
            if (!filter.test(d)) continue;
            for (Node n : nodes) {
                if (n.address.equals(d.to())) {
                    n.fromUdp(d.data(), d.from());
                    delivered++;
                }
            }
        }
        return delivered;
    }

    /** Advances time in small steps, running timers and the network at each step. */
    void run(long nanos, long step) {
        for (long t = 0; t < nanos; t += step) {
            clock.advance(step);
            for (Node n : nodes) n.device.tick();
            pump();
        }
    }

    long count(Predicate<Datagram> p) {
        return sent.stream().filter(p).count();
    }

    static byte[] ipv4(String src, String dst, int payloadLen) throws Exception {
        byte[] p = new byte[20 + payloadLen];
        p[0] = 0x45;
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        System.arraycopy(InetAddress.getByName(src).getAddress(), 0, p, 12, 4);
        System.arraycopy(InetAddress.getByName(dst).getAddress(), 0, p, 16, 4);
        for (int i = 20; i < p.length; i++) p[i] = (byte) Keys.random().nextInt();
        return p;
    }
}
