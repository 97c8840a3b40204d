package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.Protocol;
import io.wiremesh.wireguard.crypto.ChaChaPoly;
import java.nio.ByteBuffer;

/** Outbound stage (wireguard-go's send.go): pad, seal in place, then send in counter order. */
final class Send implements Pipeline.Stage {
    private final Device device;

    Send(Device device) {
        this.device = device;
    }

    /** Pad to a multiple of 16 without exceeding the MTU (whitepaper 5.4.6). */
    static int paddedLength(int length, int mtu) {
        int last = length;
        if (mtu > 0 && last > mtu) last %= mtu;
        int padded = (last + Protocol.PADDING_MULTIPLE - 1) & ~(Protocol.PADDING_MULTIPLE - 1);
        if (mtu > 0 && padded > mtu) padded = mtu;
        return length + padded - last;
    }

    @Override
    public void process(Element e, ChaChaPoly cipher) {
        ByteBuffer b = e.buf;
        int padded = paddedLength(e.length, device.tun().mtu());
        for (int i = Element.HEADER + e.length; i < Element.HEADER + padded; i++) b.put(i, (byte) 0);
        b.putInt(0, Protocol.MESSAGE_TRANSPORT);
        b.putInt(4, e.keypair.remoteIndex);
        b.putLong(8, e.counter);
        ByteBuffer src = e.view;
        src.limit(Element.HEADER + padded).position(Element.HEADER);
        b.limit(Element.CAPACITY).position(Element.HEADER);
        int n = cipher.seal(e.keypair.sendKey, e.counter, src, b);
        e.size = Element.HEADER + n;
        e.state = Element.OK;
    }

    @Override
    public void deliver(Element e) {
        if (e.state == Element.DROP) {
            device.count(Drop.SEND_FAILED);
            return;
        }
        Peer p = e.peer;
        int size = e.size;
        e.buf.limit(size).position(0);
        device.sendDatagram(e.buf, e.endpoint, e.peer);
        p.txBytes.addAndGet(size);
        long now = device.clock().nanos();
        p.timers.anyAuthenticatedPacketTraversal(now);
        p.timers.anyAuthenticatedPacketSent();
        if (e.length > 0) p.timers.dataSent(now);
    }
}
