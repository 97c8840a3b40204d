package io.wiremesh.wireguard.device;

import static io.wiremesh.wireguard.Protocol.*;

import io.wiremesh.wireguard.crypto.ChaChaPoly;
import io.wiremesh.wireguard.session.Keypair;
import java.nio.ByteBuffer;

/**
 * Inbound stage (wireguard-go's receive.go): open in place, then, in order and only for
 * authenticated packets: replay check, session confirmation, roaming, timers, and the
 * cryptokey-routing source check before the packet reaches the TUN.
 */
final class Receive implements Pipeline.Stage {
    private final Device device;

    Receive(Device device) {
        this.device = device;
    }

    @Override
    public void process(Element e, ChaChaPoly cipher) {
        ByteBuffer src = e.view;
        src.limit(e.length).position(Element.HEADER);
        ByteBuffer b = e.buf;
        b.limit(Element.CAPACITY).position(Element.HEADER);
        int n = cipher.open(e.keypair.receiveKey, e.counter, src, b);
        if (n < 0) {
            e.state = Element.DROP;
            return;
        }
        // e.length stays the datagram length (for rx_bytes); the plaintext length travels in b's position.
        b.limit(Element.HEADER + n);
        e.state = Element.OK;
    }

    @Override
    public void deliver(Element e) {
        if (e.state == Element.DROP) {
            device.count(Drop.DECRYPT_FAILED);
            return;
        }
        Keypair kp = e.keypair;
        Peer p = e.peer;
        if (!kp.replay.accept(e.counter)) {
            device.count(Drop.REPLAYED_COUNTER);
            return;
        }
        long now = device.clock().nanos();
        if (p.keypairs.received(kp)) {
            p.handshakeComplete();
            p.flushStaged();
        }
        // Whitepaper 6.2: the initiator rekeys shortly before the session would be rejected.
        if (kp.initiator && kp == p.keypairs.current()
                && now - kp.createdNanos > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
                && p.timers.lastMinuteHandshake()) {
            p.sendInitiation(false);
        }
        p.timers.anyAuthenticatedPacketTraversal(now);
        p.timers.anyAuthenticatedPacketReceived();
        p.updateEndpoint(e.endpoint);
        p.rxBytes.addAndGet(e.length);

        ByteBuffer b = e.net;
        int plain = e.buf.limit() - Element.HEADER;
        if (plain == 0) return; // keepalive
        p.timers.dataReceived(now);

        int version = (b.get(Element.HEADER) >> 4) & 0xf;
        int total;
        Peer owner;
        if (version == 4 && plain >= 20) {
            total = b.getShort(Element.HEADER + 2) & 0xffff;
            owner = device.allowedIpTable().lookupV4(b.getInt(Element.HEADER + 12));
            if (total < 20) total = -1;
        } else if (version == 6 && plain >= 40) {
            total = 40 + (b.getShort(Element.HEADER + 4) & 0xffff);
            owner = device.allowedIpTable().lookupV6(b.getLong(Element.HEADER + 8), b.getLong(Element.HEADER + 16));
        } else {
            device.count(Drop.BAD_INNER_PACKET);
            return;
        }
        if (total < 0 || total > plain) {
            device.count(Drop.BAD_INNER_PACKET);
            return;
        }
        if (owner != p) {
            device.count(Drop.DISALLOWED_SOURCE);
            return;
        }
        e.buf.limit(Element.HEADER + total).position(Element.HEADER);
        device.writeTun(e.buf);
    }
}
