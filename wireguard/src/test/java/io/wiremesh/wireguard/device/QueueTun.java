package io.wiremesh.wireguard.device;

import io.wiremesh.wireguard.tun.Tun;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A TUN stand-in for threaded in-process tests: packets to "read" are offered, written packets are collected. */
public class QueueTun implements Tun {
    public final BlockingQueue<byte[]> toDevice = new LinkedBlockingQueue<>();
    public final BlockingQueue<byte[]> fromDevice = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    @Override
    public String name() {
        return "queue";
    }

    @Override
    public int mtu() {
        return 1420;
    }

    @Override
    public int read(ByteBuffer dst) throws java.io.IOException {
        try {
            while (!closed) {
                byte[] p = toDevice.poll(100, TimeUnit.MILLISECONDS);
                if (p != null) {
                    dst.put(p);
                    return p.length;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    @Override
    public void write(ByteBuffer src) {
        byte[] b = new byte[src.remaining()];
        src.get(b);
        fromDevice.add(b);
    }

    @Override
    public void close() {
        closed = true;
    }
}
